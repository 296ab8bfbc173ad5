//! Which devices to peer with, and when: a pure state machine over the
//! instants it is given, so it is tested without radios or sleeping.
//!
//! Each device advertising the service is tracked by the central's name
//! for it. A tracked device is idle, being attempted (GATT read, L2CAP
//! connect, handshake), or peered. Idle devices are attempted when their
//! [`Backoff`] is due, so a failed attempt or an ended peering is retried
//! after a delay that doubles with every failure in a row (a peering that
//! came up resets it). Peering is de-duplicated by key: a device whose
//! characteristic carries the key prefix of a peering already up, or of
//! this node, is not dialled; a channel whose handshake reveals a key
//! already peered over Bluetooth is closed. Everything is bounded: the
//! devices tracked, the attempts at once and the peerings.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::static_peers::{Backoff, BackoffPolicy};

use super::central::{DeviceId, Sighting};
use super::gatt::{key_prefix, PsmCharacteristic};

/// The limits and delays of Bluetooth discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// Retry delays after a failed attempt or an ended peering.
    pub backoff: BackoffPolicy,
    /// An idle device not seen for this long is forgotten.
    pub forget_after: Duration,
    /// Most devices tracked; a sighting of another one while all places
    /// are taken evicts the idle device seen longest ago, or is ignored
    /// when none is idle.
    pub max_devices: usize,
    /// Most attempts running at once (LE controllers set up one
    /// connection at a time).
    pub max_attempts: usize,
    /// Most Bluetooth peerings (controllers hold a handful of LE links).
    pub max_peerings: usize,
}

impl Default for DiscoveryConfig {
    /// Retries from 1 s doubling to 5 min, devices forgotten after 2 min
    /// unseen, 256 devices, 1 attempt at a time, 7 peerings.
    fn default() -> Self {
        DiscoveryConfig {
            backoff: BackoffPolicy {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(300),
            },
            forget_after: Duration::from_secs(120),
            max_devices: 256,
            max_attempts: 1,
            max_peerings: 7,
        }
    }
}

/// Tells one attempt from another on the same device.
pub type AttemptId = u64;

/// What to do after reading a device's characteristic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Open the channel.
    Connect,
    /// The key prefix is this node's own.
    OwnKey,
    /// The key prefix is that of a Bluetooth peering already up.
    AlreadyPeered,
    /// The attempt is stale (the device was dropped meanwhile).
    Stale,
}

/// Why a peering that came up is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Another device is peered with the same key.
    Duplicate,
    /// The attempt is stale.
    Stale,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Attempting(AttemptId),
    Peered(AttemptId, [u8; 32]),
}

#[derive(Debug)]
struct Device {
    sighting: Sighting,
    last_seen: Instant,
    backoff: Backoff,
    state: State,
}

/// The discovery state of one node.
#[derive(Debug)]
pub struct Discovery {
    our_key: [u8; 32],
    config: DiscoveryConfig,
    devices: BTreeMap<DeviceId, Device>,
    next_attempt: AttemptId,
}

impl Discovery {
    /// Discovery for the node with key `our_key`.
    pub fn new(our_key: [u8; 32], config: DiscoveryConfig) -> Discovery {
        Discovery {
            our_key,
            config,
            devices: BTreeMap::new(),
            next_attempt: 0,
        }
    }

    /// Notes a sighting at `now`; returns whether the device is tracked.
    pub fn seen(&mut self, sighting: Sighting, now: Instant) -> bool {
        if let Some(device) = self.devices.get_mut(&sighting.device) {
            device.last_seen = now;
            device.sighting = sighting;
            return true;
        }
        if self.devices.len() >= self.config.max_devices && !self.evict_one() {
            return false;
        }
        self.devices.insert(
            sighting.device.clone(),
            Device {
                sighting,
                last_seen: now,
                backoff: Backoff::new(self.config.backoff, now),
                state: State::Idle,
            },
        );
        true
    }

    /// Drops the idle device seen longest ago; false when none is idle.
    fn evict_one(&mut self) -> bool {
        let oldest = self
            .devices
            .iter()
            .filter(|(_, device)| device.state == State::Idle)
            .min_by_key(|(_, device)| device.last_seen)
            .map(|(id, _)| id.clone());
        match oldest {
            Some(id) => self.devices.remove(&id).is_some(),
            None => false,
        }
    }

    /// Forgets idle devices unseen for too long, then starts the attempts
    /// due at `now` within the limits; returns them.
    pub fn due(&mut self, now: Instant) -> Vec<(Sighting, AttemptId)> {
        let forget_after = self.config.forget_after;
        self.devices.retain(|_, device| {
            device.state != State::Idle
                || now.saturating_duration_since(device.last_seen) < forget_after
        });
        let attempting = self.count(|state| matches!(state, State::Attempting(_)));
        let peered = self.count(|state| matches!(state, State::Peered(..)));
        let room = self
            .config
            .max_attempts
            .saturating_sub(attempting)
            .min(self.config.max_peerings.saturating_sub(peered + attempting));
        let mut started = Vec::new();
        for device in self.devices.values_mut() {
            if started.len() >= room {
                break;
            }
            if device.state == State::Idle && device.backoff.is_due(now) {
                let attempt = self.next_attempt;
                self.next_attempt += 1;
                device.state = State::Attempting(attempt);
                started.push((device.sighting.clone(), attempt));
            }
        }
        started
    }

    /// The earliest instant an idle device is due, if any.
    pub fn next_due(&self) -> Option<Instant> {
        self.devices
            .values()
            .filter(|device| device.state == State::Idle)
            .map(|device| device.backoff.next_attempt())
            .min()
    }

    fn count(&self, pick: impl Fn(&State) -> bool) -> usize {
        self.devices.values().filter(|d| pick(&d.state)).count()
    }

    fn attempt_mut(&mut self, device: &DeviceId, attempt: AttemptId) -> Option<&mut Device> {
        self.devices.get_mut(device).filter(
            |d| matches!(d.state, State::Attempting(a) | State::Peered(a, _) if a == attempt),
        )
    }

    /// Judges the characteristic read in `attempt`. Anything but
    /// [`Verdict::Connect`] ends the attempt (retried later).
    pub fn characteristic_read(
        &mut self,
        device: &DeviceId,
        attempt: AttemptId,
        characteristic: &PsmCharacteristic,
        now: Instant,
    ) -> Verdict {
        let ours = key_prefix(&self.our_key);
        let peered: Vec<[u8; 18]> = self
            .devices
            .values()
            .filter_map(|d| match d.state {
                State::Peered(_, key) => Some(key_prefix(&key)),
                _ => None,
            })
            .collect();
        let Some(entry) = self.attempt_mut(device, attempt) else {
            return Verdict::Stale;
        };
        let verdict = match characteristic.key_prefix {
            Some(prefix) if prefix == ours => Verdict::OwnKey,
            Some(prefix) if peered.contains(&prefix) => Verdict::AlreadyPeered,
            _ => Verdict::Connect,
        };
        if verdict != Verdict::Connect {
            entry.state = State::Idle;
            entry.backoff.retry_later(now);
        }
        verdict
    }

    /// The handshake of `attempt` revealed `key`: the device is peered,
    /// unless another device already is with that key.
    pub fn peered(
        &mut self,
        device: &DeviceId,
        attempt: AttemptId,
        key: [u8; 32],
        now: Instant,
    ) -> Result<(), Refusal> {
        let duplicate = self
            .devices
            .iter()
            .any(|(id, d)| id != device && matches!(d.state, State::Peered(_, k) if k == key));
        let Some(entry) = self.attempt_mut(device, attempt) else {
            return Err(Refusal::Stale);
        };
        if duplicate {
            entry.state = State::Idle;
            entry.backoff.retry_later(now);
            return Err(Refusal::Duplicate);
        }
        entry.state = State::Peered(attempt, key);
        entry.backoff.succeeded();
        Ok(())
    }

    /// `attempt` failed before a peering came up, or its peering ended:
    /// the device is retried after its backoff delay. Stale reports are
    /// ignored.
    pub fn ended(&mut self, device: &DeviceId, attempt: AttemptId, now: Instant) {
        if let Some(entry) = self.attempt_mut(device, attempt) {
            entry.state = State::Idle;
            entry.backoff.retry_later(now);
        }
    }

    /// The keys peered over Bluetooth, by device.
    pub fn peerings(&self) -> Vec<(DeviceId, [u8; 32])> {
        self.devices
            .iter()
            .filter_map(|(id, d)| match d.state {
                State::Peered(_, key) => Some((id.clone(), key)),
                _ => None,
            })
            .collect()
    }

    /// How many devices are tracked.
    pub fn tracked(&self) -> usize {
        self.devices.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bluetooth::address::{BdAddr, LeAddressType};

    const OURS: [u8; 32] = [0x55; 32];
    const SECOND: Duration = Duration::from_secs(1);

    fn sighting(n: u8) -> Sighting {
        Sighting {
            device: DeviceId(format!("dev{n}")),
            address: BdAddr([0xc0, 0, 0, 0, 0, n]),
            address_type: LeAddressType::Random,
        }
    }

    fn config() -> DiscoveryConfig {
        DiscoveryConfig {
            max_attempts: 8,
            ..DiscoveryConfig::default()
        }
    }

    fn ios() -> PsmCharacteristic {
        PsmCharacteristic {
            psm: 0x81,
            key_prefix: None,
        }
    }

    fn android(key: &[u8; 32]) -> PsmCharacteristic {
        PsmCharacteristic {
            psm: 0x81,
            key_prefix: Some(key_prefix(key)),
        }
    }

    #[test]
    fn a_new_device_is_attempted_at_once_and_only_once() {
        let now = Instant::now();
        let mut discovery = Discovery::new(OURS, config());
        assert!(discovery.seen(sighting(1), now));
        let due = discovery.due(now);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].0, sighting(1));
        assert!(discovery.due(now).is_empty(), "already being attempted");
        discovery.seen(sighting(1), now + SECOND);
        assert!(
            discovery.due(now + SECOND).is_empty(),
            "seeing it again changes nothing"
        );
    }

    #[test]
    fn failures_back_off_and_success_resets() {
        let start = Instant::now();
        let mut discovery = Discovery::new(OURS, config());
        let device = sighting(1).device;
        let mut now = start;
        let mut delays = Vec::new();
        for _ in 0..4 {
            discovery.seen(sighting(1), now);
            let (_, attempt) = discovery.due(now).pop().expect("due");
            discovery.ended(&device, attempt, now);
            let next = discovery.next_due().expect("scheduled");
            assert!(discovery.due(next - Duration::from_millis(1)).is_empty());
            delays.push((next - now).as_secs());
            now = next;
        }
        assert_eq!(delays, [1, 2, 4, 8]);
        discovery.seen(sighting(1), now);
        let (_, attempt) = discovery.due(now).pop().expect("due");
        discovery
            .peered(&device, attempt, [1; 32], now)
            .expect("peered");
        let later = now + 600 * SECOND;
        discovery.seen(sighting(1), later);
        discovery.ended(&device, attempt, later);
        assert_eq!(
            discovery.next_due(),
            Some(later + SECOND),
            "reconnect after 1 s"
        );
        assert_eq!(discovery.due(later + SECOND).len(), 1);
    }

    #[test]
    fn own_and_peered_key_prefixes_are_not_dialled() {
        let now = Instant::now();
        let mut discovery = Discovery::new(OURS, config());
        for n in 1..=3 {
            discovery.seen(sighting(n), now);
        }
        let due = discovery.due(now);
        assert_eq!(due.len(), 3);
        let phone = [0x77; 32];
        assert_eq!(
            discovery.characteristic_read(&due[0].0.device, due[0].1, &android(&OURS), now),
            Verdict::OwnKey
        );
        assert_eq!(
            discovery.characteristic_read(&due[1].0.device, due[1].1, &android(&phone), now),
            Verdict::Connect
        );
        discovery
            .peered(&due[1].0.device, due[1].1, phone, now)
            .expect("peered");
        assert_eq!(
            discovery.characteristic_read(&due[2].0.device, due[2].1, &android(&phone), now),
            Verdict::AlreadyPeered,
            "the same phone under another address"
        );
        assert_eq!(discovery.peerings(), vec![(due[1].0.device.clone(), phone)]);
        assert!(
            discovery.due(now).is_empty(),
            "both skipped devices back off"
        );
        assert_eq!(discovery.due(now + SECOND).len(), 2);
    }

    #[test]
    fn a_second_device_with_a_peered_key_is_refused_after_the_handshake() {
        let now = Instant::now();
        let mut discovery = Discovery::new(OURS, config());
        discovery.seen(sighting(1), now);
        discovery.seen(sighting(2), now);
        let due = discovery.due(now);
        let phone = [0x99; 32];
        for (sighting, attempt) in &due {
            assert_eq!(
                discovery.characteristic_read(&sighting.device, *attempt, &ios(), now),
                Verdict::Connect,
                "iOS gives no key to judge by"
            );
        }
        assert_eq!(
            discovery.peered(&due[0].0.device, due[0].1, phone, now),
            Ok(())
        );
        assert_eq!(
            discovery.peered(&due[1].0.device, due[1].1, phone, now),
            Err(Refusal::Duplicate)
        );
        // The refused channel's end is reported later: it changes nothing.
        discovery.ended(&due[1].0.device, due[1].1, now);
        assert_eq!(discovery.peerings().len(), 1);
        assert_eq!(
            discovery.peered(&due[1].0.device, due[1].1, [1; 32], now),
            Err(Refusal::Stale)
        );
    }

    #[test]
    fn limits_bound_attempts_peerings_and_devices() {
        let now = Instant::now();
        let mut discovery = Discovery::new(
            OURS,
            DiscoveryConfig {
                max_attempts: 2,
                max_peerings: 3,
                max_devices: 4,
                ..DiscoveryConfig::default()
            },
        );
        for n in 1..=4 {
            assert!(discovery.seen(sighting(n), now + Duration::from_millis(n.into())));
        }
        // Every device is due from its first sighting on.
        let now = now + Duration::from_millis(10);
        let first = discovery.due(now);
        assert_eq!(first.len(), 2, "two attempts at once");
        assert!(discovery.due(now).is_empty());
        for (k, (sighting, attempt)) in first.iter().enumerate() {
            discovery
                .peered(&sighting.device, *attempt, [k as u8 + 1; 32], now)
                .expect("peered");
        }
        let third = discovery.due(now);
        assert_eq!(third.len(), 1, "one peering left under the limit of 3");
        discovery
            .peered(&third[0].0.device, third[0].1, [9; 32], now)
            .expect("peered");
        assert!(discovery.due(now).is_empty(), "at the peering limit");

        // A fifth device takes the place of the idle one.
        assert!(discovery.seen(sighting(5), now));
        assert_eq!(discovery.tracked(), 4);
        assert_eq!(discovery.peerings().len(), 3, "busy devices are kept");

        // With every place busy, a new device is not tracked.
        let mut busy = Discovery::new(
            OURS,
            DiscoveryConfig {
                max_attempts: 2,
                max_devices: 2,
                ..DiscoveryConfig::default()
            },
        );
        busy.seen(sighting(1), now);
        busy.seen(sighting(2), now);
        assert_eq!(busy.due(now).len(), 2);
        assert!(!busy.seen(sighting(3), now), "every tracked device is busy");
        assert_eq!(busy.tracked(), 2);
    }

    #[test]
    fn idle_devices_unseen_for_long_are_forgotten() {
        let now = Instant::now();
        let mut discovery = Discovery::new(OURS, config());
        discovery.seen(sighting(1), now);
        let (_, attempt) = discovery.due(now).pop().expect("due");
        discovery.ended(&sighting(1).device, attempt, now);
        let due = discovery.due(now + 119 * SECOND);
        assert_eq!(due.len(), 1, "still tracked and due");
        discovery.ended(&sighting(1).device, due[0].1, now + 119 * SECOND);
        assert!(discovery.due(now + 121 * SECOND).is_empty());
        assert_eq!(discovery.tracked(), 0, "unseen for over 2 min");
    }
}
