# sources of src/resolve: asking the kernel about a tracee's sockets
list(APPEND ST_SOURCES
  ${PROJECT_SOURCE_DIR}/src/resolve/resolve_proc.c
  ${PROJECT_SOURCE_DIR}/src/resolve/resolve_pidfd.c
  ${PROJECT_SOURCE_DIR}/src/resolve/resolve_diag.c
  ${PROJECT_SOURCE_DIR}/src/resolve/resolve_route.c)
