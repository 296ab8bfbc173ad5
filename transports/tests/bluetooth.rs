//! Bluetooth peering against a fake adapter: sightings, GATT reads and
//! L2CAP channels are simulated (a channel is a sequenced-packet socket
//! pair, as an L2CAP socket is), while both ends run real nodes, so each
//! test checks peerings that come up, carry traffic, are de-duplicated by
//! key and come back after a drop.
#![cfg(feature = "bluetooth")]

mod node_support;

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use node_support::{eventually, node, reaches, CONVERGENCE};
use pinecone_transports::bluetooth::{
    bridge, key_prefix, BdAddr, BluetoothConfig, BluetoothPeering, Central, CentralError,
    Connector, DeviceId, DiscoveryConfig, L2capAddress, L2capChannel, LeAddressType,
    PsmCharacteristic, Sighting, BLUETOOTH_ZONE,
};
use pinecone_transports::{Node, PeerOrigin, PeerStream, PeerType};
use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};

/// The PSM every fake phone listens on.
const PSM: u16 = 0x0081;
/// A small send MTU, so that frames cross the channel in many SDUs.
const FAKE_MTU: usize = 64;

/// A fake adapter: sightings the test injects, characteristic values by
/// device, and counts of reads and releases.
#[derive(Default)]
struct FakeCentral {
    sightings: Mutex<Option<(Sender<Sighting>, Receiver<Sighting>)>>,
    values: Mutex<HashMap<DeviceId, Vec<u8>>>,
    reads: Mutex<HashMap<DeviceId, usize>>,
    releases: AtomicUsize,
}

impl FakeCentral {
    fn queue(&self) -> (Sender<Sighting>, Receiver<Sighting>) {
        self.sightings
            .lock()
            .unwrap()
            .get_or_insert_with(crossbeam_channel::unbounded)
            .clone()
    }

    /// A device advertising the service with `value` as its
    /// characteristic.
    fn advertise(&self, n: u8, value: Vec<u8>) -> Sighting {
        let sighting = Sighting {
            device: DeviceId(format!("/org/bluez/hci0/dev_{n}")),
            address: device_address(n),
            address_type: LeAddressType::Random,
        };
        self.values
            .lock()
            .unwrap()
            .insert(sighting.device.clone(), value);
        self.queue().0.send(sighting.clone()).unwrap();
        sighting
    }

    fn reads(&self, device: &DeviceId) -> usize {
        self.reads.lock().unwrap().get(device).copied().unwrap_or(0)
    }
}

impl Central for FakeCentral {
    fn next_sighting(&self, timeout: Duration) -> Result<Option<Sighting>, CentralError> {
        Ok(self.queue().1.recv_timeout(timeout).ok())
    }

    fn read_psm_characteristic(&self, device: &DeviceId) -> Result<Vec<u8>, CentralError> {
        *self
            .reads
            .lock()
            .unwrap()
            .entry(device.clone())
            .or_default() += 1;
        self.values
            .lock()
            .unwrap()
            .get(device)
            .cloned()
            .ok_or_else(|| CentralError("unknown device".to_owned()))
    }

    fn release(&self, _device: &DeviceId) {
        self.releases.fetch_add(1, Ordering::SeqCst);
    }
}

/// Fake phones: each address leads to a node that accepts a channel on
/// [`PSM`] by bridging the other end of a sequenced-packet pair into a
/// conduit-like peering of its own, as Element's apps do.
#[derive(Default)]
struct FakeRadio {
    phones: Mutex<HashMap<BdAddr, Arc<Node>>>,
    connects: Mutex<HashMap<BdAddr, usize>>,
}

impl FakeRadio {
    fn place(&self, address: BdAddr, phone: &Arc<Node>) {
        self.phones
            .lock()
            .unwrap()
            .insert(address, Arc::clone(phone));
    }

    fn connects(&self, address: BdAddr) -> usize {
        self.connects
            .lock()
            .unwrap()
            .get(&address)
            .copied()
            .unwrap_or(0)
    }
}

impl Connector for FakeRadio {
    fn connect(&self, to: &L2capAddress) -> io::Result<L2capChannel> {
        *self.connects.lock().unwrap().entry(to.address).or_default() += 1;
        let phone = self.phones.lock().unwrap().get(&to.address).cloned();
        let Some(phone) = phone.filter(|_| to.psm == PSM) else {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "no listener",
            ));
        };
        let (ours, theirs) = socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )?;
        let (stream, _closer) = bridge(
            L2capChannel {
                fd: theirs,
                send_mtu: FAKE_MTU,
            },
            "phone".to_owned(),
            || {},
        )?;
        std::thread::spawn(move || {
            let origin = PeerOrigin {
                peer_type: PeerType::Bluetooth,
                zone: BLUETOOTH_ZONE.to_owned(),
                uri: "l2cap".to_owned(),
                outbound: false,
            };
            let _ = phone.attach(PeerStream::Unix(stream), origin);
        });
        Ok(L2capChannel {
            fd: ours,
            send_mtu: FAKE_MTU,
        })
    }
}

struct Setup {
    linux: Arc<Node>,
    central: Arc<FakeCentral>,
    radio: Arc<FakeRadio>,
    peering: BluetoothPeering,
}

fn setup(seed: u8) -> Setup {
    let linux = Arc::new(node(seed));
    let central = Arc::new(FakeCentral::default());
    let radio = Arc::new(FakeRadio::default());
    let config = BluetoothConfig {
        discovery: DiscoveryConfig {
            backoff: pinecone_transports::BackoffPolicy {
                initial: Duration::from_millis(200),
                max: Duration::from_secs(2),
            },
            ..DiscoveryConfig::default()
        },
        ..BluetoothConfig::default()
    };
    let peering = BluetoothPeering::start(
        Arc::clone(&linux),
        Arc::clone(&central) as Arc<dyn Central>,
        Arc::clone(&radio) as Arc<dyn Connector>,
        config,
    )
    .expect("starts");
    Setup {
        linux,
        central,
        radio,
        peering,
    }
}

impl Setup {
    /// Places `phone` at device `n`'s address, then advertises it with
    /// `value`: in that order, so the first dial always finds the phone.
    fn show_phone(&self, n: u8, value: Vec<u8>, phone: &Arc<Node>) -> Sighting {
        self.radio.place(device_address(n), phone);
        self.central.advertise(n, value)
    }
}

/// The radio address of fake device `n`.
fn device_address(n: u8) -> BdAddr {
    BdAddr([0xc0, 0xde, 0, 0, 0, n])
}

/// Android's characteristic: the PSM then the first 18 bytes of the key.
fn android_value(phone: &Node) -> Vec<u8> {
    PsmCharacteristic {
        psm: PSM,
        key_prefix: Some(key_prefix(&phone.public_key().0)),
    }
    .encode()
}

/// iOS's characteristic: the PSM alone.
fn ios_value() -> Vec<u8> {
    PSM.to_be_bytes().to_vec()
}

/// The keys of `node`'s Bluetooth peerings, checking their zone.
fn bluetooth_peers(node: &Node) -> Vec<[u8; 32]> {
    node.peers()
        .expect("peers")
        .into_iter()
        .filter(|peer| peer.peer_type == PeerType::Bluetooth)
        .inspect(|peer| assert_eq!(peer.zone, BLUETOOTH_ZONE))
        .map(|peer| peer.key.0)
        .collect()
}

#[test]
fn a_sighted_phone_becomes_a_bluetooth_peering_that_carries_traffic() {
    let setup = setup(1);
    let phone = Arc::new(node(2));
    let sighting = setup.show_phone(1, android_value(&phone), &phone);
    assert!(
        eventually(CONVERGENCE, || bluetooth_peers(&setup.linux)
            == vec![phone.public_key().0]),
        "the Linux node peers with the phone over Bluetooth"
    );
    assert_eq!(bluetooth_peers(&phone), vec![setup.linux.public_key().0]);
    let outbound: Vec<bool> = setup
        .linux
        .peers()
        .expect("peers")
        .iter()
        .map(|peer| peer.uri.starts_with("ble://C0:DE:00:00:00:01?psm=129"))
        .collect();
    assert_eq!(outbound, [true], "the peering names the channel");
    assert!(reaches(&setup.linux, &phone, CONVERGENCE));
    assert!(reaches(&phone, &setup.linux, CONVERGENCE));
    assert_eq!(
        setup.peering.peerings(),
        vec![(sighting.device, phone.public_key().0)]
    );
}

#[test]
fn a_phone_seen_under_two_addresses_is_peered_once() {
    let setup = setup(3);
    let phone = Arc::new(node(4));
    // Android's layout: the second address's key prefix is known before
    // dialling, so it is never dialled.
    setup.show_phone(1, android_value(&phone), &phone);
    assert!(eventually(CONVERGENCE, || bluetooth_peers(&setup.linux)
        .len()
        == 1));
    let second = setup.show_phone(2, android_value(&phone), &phone);
    assert!(
        eventually(CONVERGENCE, || setup.central.reads(&second.device) >= 2),
        "the second address is read (and retried)"
    );
    assert_eq!(setup.radio.connects(second.address), 0, "never dialled");
    assert_eq!(bluetooth_peers(&setup.linux), vec![phone.public_key().0]);
}

#[test]
fn a_duplicate_found_by_the_handshake_is_closed() {
    let setup = setup(5);
    let phone = Arc::new(node(6));
    // iOS's layout gives no key: the duplicate shows at the handshake.
    let first = setup.show_phone(1, ios_value(), &phone);
    assert!(eventually(CONVERGENCE, || bluetooth_peers(&setup.linux)
        .len()
        == 1));
    let second = setup.show_phone(2, ios_value(), &phone);
    assert!(
        eventually(CONVERGENCE, || setup.radio.connects(second.address) >= 2),
        "the second address is dialled, refused and retried later"
    );
    assert_eq!(
        setup.peering.peerings(),
        vec![(first.device.clone(), phone.public_key().0)],
        "only the first address counts as peered"
    );
    assert!(
        eventually(CONVERGENCE, || bluetooth_peers(&setup.linux)
            == vec![phone.public_key().0]
            && bluetooth_peers(&phone) == vec![setup.linux.public_key().0]),
        "one peering left on each side"
    );
    assert!(reaches(&setup.linux, &phone, CONVERGENCE));
}

#[test]
fn a_dropped_peering_is_redialled() {
    let setup = setup(7);
    let phone = Arc::new(node(8));
    let sighting = setup.show_phone(1, ios_value(), &phone);
    assert!(eventually(CONVERGENCE, || bluetooth_peers(&setup.linux)
        .len()
        == 1));
    assert_eq!(setup.radio.connects(sighting.address), 1);
    assert_eq!(
        phone
            .disconnect_peer_type(PeerType::Bluetooth)
            .expect("disconnect"),
        1
    );
    assert!(
        eventually(CONVERGENCE, || setup.radio.connects(sighting.address) == 2
            && bluetooth_peers(&setup.linux) == vec![phone.public_key().0]),
        "redialled after the drop, without a new sighting"
    );
    assert!(
        setup.central.releases.load(Ordering::SeqCst) >= 1,
        "the GATT link was let go"
    );
    assert!(reaches(&phone, &setup.linux, CONVERGENCE));
}

#[test]
fn own_key_and_bad_characteristics_are_not_dialled() {
    let setup = setup(9);
    let own = setup.central.advertise(1, android_value(&setup.linux));
    let short = setup.central.advertise(2, vec![0x00, 0x81, 0x01]);
    let zero_psm = setup.central.advertise(3, vec![0x00, 0x00]);
    for sighting in [&own, &short, &zero_psm] {
        assert!(
            eventually(CONVERGENCE, || setup.central.reads(&sighting.device) >= 2),
            "{:?} is read, then read again after a delay",
            sighting.device
        );
        assert_eq!(setup.radio.connects(sighting.address), 0);
    }
    assert!(bluetooth_peers(&setup.linux).is_empty());
}

#[test]
fn stopping_closes_the_peerings() {
    let setup = setup(11);
    let phone = Arc::new(node(12));
    setup.show_phone(1, ios_value(), &phone);
    assert!(eventually(CONVERGENCE, || bluetooth_peers(&phone).len() == 1));
    drop(setup.peering);
    assert!(
        eventually(CONVERGENCE, || bluetooth_peers(&phone).is_empty()
            && bluetooth_peers(&setup.linux).is_empty()),
        "both sides see the peering end"
    );
}
