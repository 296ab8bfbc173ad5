/*
 * Two Pinecone nodes in one process: the second peers with the first over
 * loopback TCP, then each sends the other a datagram and prints what it
 * receives, waiting for it the way an event loop does: poll() on the
 * node's datagram descriptor, then receives that do not wait. Alice's
 * events are printed as they happen (from the library's event thread),
 * the library's log at info level goes to stderr through the log
 * callback, and at the end bob's peers and coordinates are printed.
 * Exits 0 when both datagrams arrive, 1 otherwise.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pinecone.h"

/* How long the nodes may take to peer and find a route, in milliseconds. */
#define CONVERGENCE_MS 20000

static void print_key(const char *label, const uint8_t key[32]) {
    printf("%s ", label);
    for (int i = 0; i < 32; i++) {
        printf("%02x", key[i]);
    }
    printf("\n");
}

static void sleep_ms(long ms) {
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

/*
 * Sends `message` from `from` to `to` (retrying while no route is known
 * yet) until `to` receives it, and prints it. Returns 0 on success.
 */
static int exchange(pinecone_node *from, pinecone_node *to, const char *message) {
    uint8_t dest[32], src[32], from_key[32];
    uint8_t buf[1024];
    pinecone_node_public_key(to, dest);
    pinecone_node_public_key(from, from_key);
    for (int waited = 0; waited < CONVERGENCE_MS; waited += 200) {
        if (pinecone_node_send(from, dest, (const uint8_t *)message, strlen(message)) != 0) {
            sleep_ms(200);
            continue;
        }
        /* Readable while datagrams wait: wait for that, then just look. */
        struct pollfd ready = {.fd = pinecone_node_datagram_fd(to), .events = POLLIN};
        if (ready.fd < 0 || poll(&ready, 1, 200) < 0) {
            fprintf(stderr, "poll failed: %s\n", pinecone_last_error());
            return -1;
        }
        int64_t len = pinecone_node_recv(to, src, buf, sizeof buf, 0);
        if (len == PINECONE_TIMED_OUT) {
            continue;
        }
        if (len < 0) {
            fprintf(stderr, "recv failed: %s\n", pinecone_last_error());
            return -1;
        }
        if (memcmp(src, from_key, 32) != 0) {
            fprintf(stderr, "datagram from an unexpected sender\n");
            return -1;
        }
        printf("received %lld bytes: \"%.*s\"\n", (long long)len, (int)len, (const char *)buf);
        return 0;
    }
    fprintf(stderr, "no delivery in time: %s\n", pinecone_last_error());
    return -1;
}

/* Writes a record of the library's log to stderr; runs on any thread. */
static void print_log(int level, const char *target, const char *message, void *user_data) {
    (void)user_data;
    static const char *const names[] = {"off", "error", "warn", "info", "debug", "trace"};
    fprintf(stderr, "[log %s] %s: %s\n", names[level >= 0 && level <= 5 ? level : 0], target,
            message);
}

/* Prints each of alice's events; runs on the library's event thread. */
static void print_event(const pinecone_event *event, void *user_data) {
    printf("[%s event] %s\n", (const char *)user_data, event->json);
    fflush(stdout);
}

/*
 * Prints bob's peers as JSON and his coordinates, asking each function
 * first how much room its answer needs.
 */
static int print_state(pinecone_node *node) {
    int64_t needed = pinecone_node_peers_json(node, NULL, 0);
    if (needed < 0) {
        fprintf(stderr, "peers failed: %s\n", pinecone_last_error());
        return -1;
    }
    /* The answer may grow between the two calls: leave room. */
    size_t cap = (size_t)needed + 1024;
    char *peers = malloc(cap);
    if (peers == NULL || pinecone_node_peers_json(node, peers, cap) > (int64_t)cap) {
        free(peers);
        fprintf(stderr, "peers did not fit\n");
        return -1;
    }
    printf("bob's peers: %s\n", peers);
    free(peers);

    uint64_t coords[32];
    int64_t depth = pinecone_node_coords(node, coords, 32);
    if (depth < 0 || depth > 32) {
        fprintf(stderr, "coords failed: %s\n", pinecone_last_error());
        return -1;
    }
    printf("bob's coordinates: [");
    for (int64_t i = 0; i < depth; i++) {
        printf(i == 0 ? "%llu" : " %llu", (unsigned long long)coords[i]);
    }
    printf("]\n");
    return 0;
}

int main(void) {
    int status = 1;
    printf("libpinecone %s\n", pinecone_version());
    if (pinecone_set_log_callback(print_log, PINECONE_LOG_INFO, NULL) != 0) {
        fprintf(stderr, "set_log_callback failed: %s\n", pinecone_last_error());
        return 1;
    }

    pinecone_node *alice = pinecone_node_new(NULL);
    pinecone_node *bob = pinecone_node_new(NULL);
    if (alice == NULL || bob == NULL) {
        fprintf(stderr, "pinecone_node_new failed: %s\n", pinecone_last_error());
        goto out;
    }
    uint8_t key[32];
    pinecone_node_public_key(alice, key);
    print_key("alice", key);
    pinecone_node_public_key(bob, key);
    print_key("bob  ", key);

    if (pinecone_node_set_event_callback(alice, print_event, "alice") != 0) {
        fprintf(stderr, "set_event_callback failed: %s\n", pinecone_last_error());
        goto out;
    }

    char bound[64];
    if (pinecone_node_listen_tcp(alice, "127.0.0.1:0", bound, sizeof bound) != 0) {
        fprintf(stderr, "listen failed: %s\n", pinecone_last_error());
        goto out;
    }
    printf("alice listens on %s\n", bound);
    if (pinecone_node_connect(bob, bound) != 0) {
        fprintf(stderr, "connect failed: %s\n", pinecone_last_error());
        goto out;
    }

    int waited = 0;
    while (pinecone_node_peer_count(alice) == 0 || pinecone_node_peer_count(bob) == 0) {
        if (waited >= CONVERGENCE_MS) {
            fprintf(stderr, "the nodes never peered\n");
            goto out;
        }
        sleep_ms(20);
        waited += 20;
    }
    printf("peered: alice has %zu peer(s), bob has %zu\n", pinecone_node_peer_count(alice),
           pinecone_node_peer_count(bob));

    printf("alice -> bob: ");
    fflush(stdout);
    if (exchange(alice, bob, "hello bob, from alice") != 0) {
        goto out;
    }
    printf("bob -> alice: ");
    fflush(stdout);
    if (exchange(bob, alice, "hello alice, from bob") != 0) {
        goto out;
    }
    if (print_state(bob) != 0) {
        goto out;
    }
    status = 0;

out:
    pinecone_node_free(bob);
    pinecone_node_free(alice);
    pinecone_set_log_callback(NULL, PINECONE_LOG_OFF, NULL);
    return status;
}
