# sources of src/tracer
list(APPEND ST_SOURCES
  ${PROJECT_SOURCE_DIR}/src/tracer/tracer.c
  ${PROJECT_SOURCE_DIR}/src/tracer/launch.c
  ${PROJECT_SOURCE_DIR}/src/tracer/seccomp.c
  ${PROJECT_SOURCE_DIR}/src/tracer/mem.c
  ${PROJECT_SOURCE_DIR}/src/tracer/fdfilter.c
  ${PROJECT_SOURCE_DIR}/src/tracer/cputime.c
  ${PROJECT_SOURCE_DIR}/src/arch/inject.c)
