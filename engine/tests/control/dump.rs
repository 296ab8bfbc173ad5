//! The state dump: the reference's manhole fields, as JSON.

use crate::solo::{Solo, ME};
use pinecone_engine::wire::Watermark;
use pinecone_netkit::frames::{announcement, bootstrap, traffic};
use serde_json::{json, Value};

const A: usize = 8;
const W: usize = 2;

#[test]
fn the_dump_has_the_manhole_fields() {
    let mut solo = Solo::quiet();
    let a = solo.add(A);
    let w = solo.add(W);
    solo.feed(a, &announcement(3, &[(&solo.keys[A], 9)]))
        .unwrap();
    let frame = announcement(
        3,
        &[(&solo.keys[A], 9), (&solo.keys[ME], w), (&solo.keys[W], 1)],
    );
    solo.feed(w, &frame).unwrap();
    let root = solo.router.root();
    solo.feed(w, &bootstrap(&solo.keys[W], 1_500, root, Watermark::FRESH))
        .unwrap();
    let src = solo.key(6);
    solo.feed(a, &traffic(solo.own(), &[9], src, Watermark::FRESH, b"x"))
        .unwrap();

    let dump = serde_json::to_value(solo.router.state_dump(solo.now)).unwrap();
    let hex = |i: usize| solo.key(i).to_string();
    assert_eq!(dump["public_key"], json!(hex(ME)));
    assert_eq!(dump["coords"], json!("[9]"));
    assert_eq!(
        dump["root"],
        json!({"root_public_key": hex(A), "root_sequence": 3})
    );
    assert_eq!(dump["parent"], json!({"port": a, "public_key": hex(A)}));

    let peer_a = &dump["peers"][hex(A)][0];
    assert_eq!(peer_a["port"], json!(a));
    assert_eq!(peer_a["coords"], json!("[9]"));
    assert_eq!(peer_a["order"], json!(1));
    assert_eq!(peer_a["type"], json!(3));
    assert!(peer_a.get("zone").is_none(), "empty zone omitted");
    assert!(peer_a["rx_proto_bytes"].as_u64().unwrap() > 0);
    assert!(peer_a["rx_traffic_bytes"].as_u64().unwrap() > 0);
    assert!(peer_a["tx_proto_bytes"].as_u64().unwrap() > 0);
    assert!(peer_a["proto_queue"]["count"].as_u64().unwrap() > 0);
    assert_eq!(
        dump["peers"][hex(W)][0]["coords"],
        json!(format!("[9 {w} 1]"))
    );

    let path = &dump["snek"]["paths"][0];
    assert_eq!(path["public_key"], json!(hex(W)));
    assert_eq!(path["source"], json!({"port": w, "public_key": hex(W)}));
    assert_eq!(path["destination"], Value::Null);
    assert_eq!(
        path["watermark"],
        json!({"public_key": hex(W), "sequence": 1_500})
    );
    assert_eq!(path["last_seen"], json!("2023-11-14T22:13:20Z"));
    assert_eq!(
        path["root"],
        json!({"root_public_key": hex(A), "root_sequence": 3})
    );
    assert_eq!(dump["snek"]["descending"], *path);
    assert_eq!(dump["coords_cache"], json!({ hex(6): "[1]" }));
}
