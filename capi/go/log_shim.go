package pinecone

/*
#include <stddef.h>
#include "pinecone.h"

extern void goPineconeLog(int level, char *target, char *message);

// Passes a record on to Go, which does not take const pointers.
static void pinecone_go_log(int level, const char *target, const char *message, void *user_data) {
	(void)user_data;
	goPineconeLog(level, (char *)target, (char *)message);
}

// Makes pinecone_go_log the library's log callback up to max_level, or
// removes it at PINECONE_LOG_OFF.
static int pinecone_go_set_log(int max_level) {
	if (max_level == PINECONE_LOG_OFF) {
		return pinecone_set_log_callback(NULL, PINECONE_LOG_OFF, NULL);
	}
	return pinecone_set_log_callback(pinecone_go_log, max_level, NULL);
}
*/
import "C"

// setGoLog makes goPineconeLog the library's log callback up to maxLevel.
func setGoLog(maxLevel C.int) C.int {
	return C.pinecone_go_set_log(maxLevel)
}
