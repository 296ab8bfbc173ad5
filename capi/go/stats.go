package pinecone

/*
#include "pinecone.h"
*/
import "C"

import "encoding/json"

// Stats is everything a node counts, summed over its peerings (nothing
// is broken down by peer key). Counters only go up while the node runs;
// queue figures are what waits now.
type Stats struct {
	// Peerings are the peerings now, by medium.
	Peerings PeeringsByType `json:"peerings"`
	// Forwarding is the forwarding plane: transit traffic, frames and
	// bytes in and out, drops by cause, and its queues.
	Forwarding ForwardingStats `json:"forwarding"`
	// Router is the control plane: protocol frames by type, signature
	// checks, tree changes and what it dropped.
	Router RouterStats `json:"router"`
	// Tree is this node's place in the spanning tree.
	Tree struct {
		// IsRoot is whether the node roots its own tree.
		IsRoot bool `json:"is_root"`
		// Depth is the length of its coordinates.
		Depth uint64 `json:"depth"`
	} `json:"tree"`
	// SnekPaths is the number of SNEK path entries held.
	SnekPaths uint64 `json:"snek_paths"`
	// RouterBacklogFrames are received protocol frames waiting for the
	// router.
	RouterBacklogFrames uint64 `json:"router_backlog_frames"`
	// Connections are inbound connections admitted and refused before
	// any handshake, by reason.
	Connections struct {
		Admitted   uint64 `json:"admitted"`
		Denied     uint64 `json:"denied"`
		SourceBusy uint64 `json:"source_busy"`
		AllBusy    uint64 `json:"all_busy"`
		PeerLimit  uint64 `json:"peer_limit"`
		InFlight   uint64 `json:"in_flight"`
	} `json:"connections"`
	// Handshakes are handshakes by outcome.
	Handshakes struct {
		Completed          uint64 `json:"completed"`
		TimedOut           uint64 `json:"timed_out"`
		Closed             uint64 `json:"closed"`
		IOError            uint64 `json:"io_error"`
		WrongLength        uint64 `json:"wrong_length"`
		VersionMismatch    uint64 `json:"version_mismatch"`
		CapabilityMismatch uint64 `json:"capability_mismatch"`
		BadSignature       uint64 `json:"bad_signature"`
		OwnKey             uint64 `json:"own_key"`
	} `json:"handshakes"`
	// PeeringsAccepted counts peerings taken in after their handshake.
	PeeringsAccepted uint64 `json:"peerings_accepted"`
	// Sessions are the end-to-end sessions: how many now, and what their
	// endpoint refused and dropped.
	Sessions struct {
		Established      uint64 `json:"established"`
		RefusedBusy      uint64 `json:"refused_busy"`
		Retries          uint64 `json:"retries"`
		FailedHandshakes uint64 `json:"failed_handshakes"`
		FailedDials      uint64 `json:"failed_dials"`
		Replaced         uint64 `json:"replaced"`
		RefusedStreams   uint64 `json:"refused_streams"`
		DatagramsDropped uint64 `json:"datagrams_dropped"`
	} `json:"sessions"`
	// PeeringsRefused counts peerings refused at the peering limits.
	PeeringsRefused struct {
		Total  uint64 `json:"total"`
		Source uint64 `json:"source"`
		Key    uint64 `json:"key"`
	} `json:"peerings_refused"`
}

// PeeringsByType counts peerings by medium.
type PeeringsByType struct {
	Pipe      uint64 `json:"pipe"`
	Multicast uint64 `json:"multicast"`
	Bonjour   uint64 `json:"bonjour"`
	Remote    uint64 `json:"remote"`
	Bluetooth uint64 `json:"bluetooth"`
}

// QueueDepth is what waits on a queue.
type QueueDepth struct {
	Frames uint64 `json:"frames"`
	Bytes  uint64 `json:"bytes"`
}

// ForwardingStats are the forwarding plane's counters and queues.
type ForwardingStats struct {
	FramesIn       uint64 `json:"frames_in"`
	BytesIn        uint64 `json:"bytes_in"`
	TrafficBytesIn uint64 `json:"traffic_bytes_in"`
	// ForwardedFrames are transit traffic frames: received on one
	// peering and queued on another.
	ForwardedFrames uint64 `json:"forwarded_frames"`
	ForwardedBytes  uint64 `json:"forwarded_bytes"`
	// LocalFramesOut are traffic frames this node's application sent.
	LocalFramesOut    uint64 `json:"local_frames_out"`
	LocalBytesOut     uint64 `json:"local_bytes_out"`
	ProtocolFramesOut uint64 `json:"protocol_frames_out"`
	ProtocolBytesOut  uint64 `json:"protocol_bytes_out"`
	BytesWritten      uint64 `json:"bytes_written"`
	// Drops are frames dropped, by cause ("unroutable", "output_full"…).
	Drops              map[string]uint64 `json:"drops"`
	ProtocolQueue      QueueDepth        `json:"protocol_queue"`
	TrafficQueue       QueueDepth        `json:"traffic_queue"`
	ControlQueueFrames uint64            `json:"control_queue_frames"`
	ControlQueueBytes  uint64            `json:"control_queue_bytes"`
	DeliveriesQueued   uint64            `json:"deliveries_queued"`
}

// FrameCounts count frames by type.
type FrameCounts struct {
	Keepalive        uint64 `json:"keepalive"`
	TreeAnnouncement uint64 `json:"tree_announcement"`
	Bootstrap        uint64 `json:"bootstrap"`
	Traffic          uint64 `json:"traffic"`
	WakeupBroadcast  uint64 `json:"wakeup_broadcast"`
	Unknown          uint64 `json:"unknown"`
}

// RouterStats are the control plane's counters.
type RouterStats struct {
	FramesReceived FrameCounts `json:"frames_received"`
	FramesSent     FrameCounts `json:"frames_sent"`
	Signatures     struct {
		AnnouncementChecks   uint64 `json:"announcement_checks"`
		AnnouncementFailures uint64 `json:"announcement_failures"`
		BootstrapChecks      uint64 `json:"bootstrap_checks"`
		BootstrapFailures    uint64 `json:"bootstrap_failures"`
		BroadcastChecks      uint64 `json:"broadcast_checks"`
		BroadcastFailures    uint64 `json:"broadcast_failures"`
	} `json:"signatures"`
	RootChanges           uint64 `json:"root_changes"`
	ParentChanges         uint64 `json:"parent_changes"`
	UnknownFrames         uint64 `json:"unknown_frames"`
	Unroutable            uint64 `json:"unroutable"`
	Loops                 uint64 `json:"loops"`
	WatermarkDrops        uint64 `json:"watermark_drops"`
	HopLimitDrops         uint64 `json:"hop_limit_drops"`
	Oversized             uint64 `json:"oversized"`
	BootstrapsDropped     uint64 `json:"bootstraps_dropped"`
	BootstrapsRerouted    uint64 `json:"bootstraps_rerouted"`
	PathsRefused          uint64 `json:"paths_refused"`
	AnnouncementsRepeated uint64 `json:"announcements_repeated"`
	BroadcastsDropped     uint64 `json:"broadcasts_dropped"`
	EventsDropped         uint64 `json:"events_dropped"`
	DeliveriesDropped     uint64 `json:"deliveries_dropped"`
}

// StatsJSON is the node's stats as the C ABI gives them, JSON.
func (n *Node) StatsJSON() (string, error) {
	return n.text("stats", func(handle *C.pinecone_node, buf *C.char, size C.size_t) C.int64_t {
		return C.pinecone_node_stats_json(handle, buf, size)
	})
}

// Stats is everything the node counts now.
func (n *Node) Stats() (*Stats, error) {
	text, err := n.StatsJSON()
	if err != nil {
		return nil, err
	}
	var stats Stats
	if err := json.Unmarshal([]byte(text), &stats); err != nil {
		return nil, err
	}
	return &stats, nil
}
