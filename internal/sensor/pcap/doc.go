// Package pcap reads packet captures (pcap and pcapng files, or frames
// from a live source) and turns them into Vigil events with Zeek's
// semantics: one event.Conn per connection (conn_state, history, sizes
// from TCP sequence space, missed bytes, L2 addresses, VLAN), event.DNS
// per query (UDP and TCP), event.DHCP per transaction, and whatever the
// configured stream analyzers (HTTP, TLS) emit from reassembled TCP
// payload.
//
// Everything runs on event time: timeouts are measured between packet
// timestamps, so replaying a capture gives the same events as watching it
// live, and the same input always gives the same events in the same order
// (uids are derived from the first packet's time and 5-tuple).
//
// Two ways in:
//
//   - ReadFiles reads capture files in order as one stream.
//   - NewEngine returns an Engine for a live source: call Packet for each
//     frame, Expire about once a second of packet time (and when the
//     interface is idle, with the current time), and Flush on shutdown.
//
// Design choices and the measurements behind them are in DESIGN.md.
package pcap
