# sources of src/model
list(APPEND ST_SOURCES
  ${PROJECT_SOURCE_DIR}/src/model/endpoint.c
  ${PROJECT_SOURCE_DIR}/src/model/fdtable.c
  ${PROJECT_SOURCE_DIR}/src/model/model.c)
