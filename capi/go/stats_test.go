package pinecone

import "testing"

func TestStatsCountPeeringsAndTraffic(t *testing.T) {
	a, b := peeredPair(t)
	before, err := a.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if before.Peerings.Remote != 1 {
		t.Fatalf("remote peerings: %d", before.Peerings.Remote)
	}
	if before.Handshakes.Completed < 1 || before.PeeringsAccepted < 1 {
		t.Fatalf("handshakes %+v, accepted %d", before.Handshakes, before.PeeringsAccepted)
	}
	if before.Router.FramesReceived.TreeAnnouncement < 1 || before.Router.Signatures.AnnouncementChecks < 1 {
		t.Fatalf("router %+v", before.Router)
	}
	if _, ok := before.Forwarding.Drops["output_full"]; !ok {
		t.Fatalf("drops by cause: %v", before.Forwarding.Drops)
	}
	for i := 0; i < 5; i++ {
		deliver(t, a, b, []byte("counted"))
	}
	after, err := a.Stats()
	if err != nil {
		t.Fatal(err)
	}
	sentBefore := before.Forwarding.LocalFramesOut + before.Router.FramesSent.Traffic
	sentAfter := after.Forwarding.LocalFramesOut + after.Router.FramesSent.Traffic
	if sentAfter < sentBefore+5 {
		t.Fatalf("traffic sent: %d then %d", sentBefore, sentAfter)
	}
	if after.Forwarding.BytesWritten <= before.Forwarding.BytesWritten {
		t.Fatalf("bytes written: %d then %d", before.Forwarding.BytesWritten, after.Forwarding.BytesWritten)
	}
}
