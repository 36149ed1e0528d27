# sources of src/pcap
