# sources of decoders/: one file per protocol, the registry, the session
# layer and the record helpers.  Exported as ST_DECODER_SOURCES too, so
# the fuzz harnesses can build them with coverage instrumentation.
set(ST_DECODER_SOURCES
  ${PROJECT_SOURCE_DIR}/decoders/reader.c
  ${PROJECT_SOURCE_DIR}/decoders/record.c
  ${PROJECT_SOURCE_DIR}/decoders/registry.c
  ${PROJECT_SOURCE_DIR}/decoders/session.c
  ${PROJECT_SOURCE_DIR}/decoders/raw.c
  ${PROJECT_SOURCE_DIR}/decoders/finger.c
  ${PROJECT_SOURCE_DIR}/decoders/http.c
  ${PROJECT_SOURCE_DIR}/decoders/dns.c
  ${PROJECT_SOURCE_DIR}/decoders/redis.c
  ${PROJECT_SOURCE_DIR}/decoders/tls.c
)
list(APPEND ST_SOURCES ${ST_DECODER_SOURCES})
