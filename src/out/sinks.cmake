# src/out capture sinks: hexdump, flow files, JSON Lines
list(APPEND ST_SOURCES
  ${PROJECT_SOURCE_DIR}/src/out/out_hexdump.c
  ${PROJECT_SOURCE_DIR}/src/out/out_flows.c
  ${PROJECT_SOURCE_DIR}/src/out/out_json.c)
