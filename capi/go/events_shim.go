package pinecone

/*
#include <stdint.h>
#include "pinecone.h"

extern void goPineconeEvent(pinecone_event *event, void *user_data);

// Passes an event on to Go, which does not take const pointers.
static void pinecone_go_event(const pinecone_event *event, void *user_data) {
	goPineconeEvent((pinecone_event *)event, user_data);
}

// Sets the Go event callback with a number as its user data.
static int pinecone_go_set_events(pinecone_node *node, uintptr_t id) {
	return pinecone_node_set_event_callback(node, pinecone_go_event, (void *)id);
}
*/
import "C"

// setGoEvents makes goPineconeEvent the node's event callback, with id
// naming the channel its events go to.
func setGoEvents(handle *C.pinecone_node, id uintptr) C.int {
	return C.pinecone_go_set_events(handle, C.uintptr_t(id))
}
