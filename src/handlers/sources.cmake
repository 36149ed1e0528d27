# sources of src/handlers
list(APPEND ST_SOURCES
  ${PROJECT_SOURCE_DIR}/src/handlers/dispatch.c
  ${PROJECT_SOURCE_DIR}/src/handlers/fdsock.c
  ${PROJECT_SOURCE_DIR}/src/handlers/args.c
  ${PROJECT_SOURCE_DIR}/src/handlers/data.c
  ${PROJECT_SOURCE_DIR}/src/handlers/pipes.c
  ${PROJECT_SOURCE_DIR}/src/handlers/names.c
  ${PROJECT_SOURCE_DIR}/src/handlers/sysent.c
  ${PROJECT_SOURCE_DIR}/src/handlers/sys_socket.c
  ${PROJECT_SOURCE_DIR}/src/handlers/sys_io.c
  ${PROJECT_SOURCE_DIR}/src/handlers/sys_fd.c)
