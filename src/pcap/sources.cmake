# sources of src/pcap: the -w pcap / pcapng output
list(APPEND ST_SOURCES
  ${PROJECT_SOURCE_DIR}/src/pcap/pcap_out.c
  ${PROJECT_SOURCE_DIR}/src/pcap/pcap_pkt.c
  ${PROJECT_SOURCE_DIR}/src/pcap/pcap_file.c)
