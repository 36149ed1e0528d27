# sources of src/out
list(APPEND ST_SOURCES
  ${PROJECT_SOURCE_DIR}/src/out/out_text.c
  ${PROJECT_SOURCE_DIR}/src/out/out_summary.c
  ${PROJECT_SOURCE_DIR}/src/out/out_status.c
  ${PROJECT_SOURCE_DIR}/src/out/filter.c
  ${PROJECT_SOURCE_DIR}/src/out/out_decode.c
  ${PROJECT_SOURCE_DIR}/src/out/outputs.c
  ${PROJECT_SOURCE_DIR}/src/out/outfile.c
  ${PROJECT_SOURCE_DIR}/src/out/bgwrite.c)
list(APPEND ST_SOURCES ${PROJECT_SOURCE_DIR}/src/options.c)
