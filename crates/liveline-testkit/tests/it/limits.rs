//! The server's per-user push allowance, against a real server on loopback with real replicas: a device that
//! pushes more than its allowance is slowed down, never refused, loses nothing, and slows nobody else; a second
//! device of the same user shares the allowance.

use std::time::{Duration, Instant};

use liveline_testkit::{eventually, lead, Device, TestServer};
use liveline_types::SyncState;

const KIB_PER_S: u32 = 32;
const BURST_KIB: u32 = 64;

/// `len` letters that do not compress (changes are compressed, and a repeated sentence would shrink to nothing).
fn noise(seed: u64, len: usize) -> String {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(b'a' + ((x >> 33) % 26) as u8)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_over_its_push_allowance_is_slowed_not_refused_and_nobody_else_waits() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(tmp.path(), "127.0.0.1:0".parse().unwrap(), |s| {
        s.push_kib_per_s = KIB_PER_S;
        s.push_burst_kib = BURST_KIB;
    })
    .await;

    // A day of leads with long notes, captured offline: well over one burst.
    let mut assistant = Device::sign_in(&server, tmp.path(), "assistant@demo.liveline").await;
    for i in 0..80 {
        let mut input = lead(&format!("Allowance buyer {i:02}"));
        input.notes = noise(i, 4500);
        assistant.capture(&input);
    }
    let queued_kib = {
        let r = assistant.replica.lock().unwrap();
        let bytes: usize = r
            .pending(10_000)
            .unwrap()
            .iter()
            .map(|p| p.bytes.len())
            .sum();
        (bytes / 1024) as u32
    };
    assert!(queued_kib > 3 * BURST_KIB, "the queue is {queued_kib} KiB");
    let manager = Device::ready(&server, tmp.path(), "manager@demo.liveline").await;

    let started = Instant::now();
    assistant.online();
    // While the assistant is held back, the manager's own edit goes through at once.
    let sync = assistant.sync.as_ref().unwrap();
    eventually("the assistant is connected and pushing", || {
        (sync.status().state == SyncState::Syncing).then_some(())
    })
    .await;
    manager.capture(&lead("Allowance manager's own buyer"));
    manager.synced().await;
    let left = assistant.replica.lock().unwrap().pending_count().unwrap();
    assert!(
        left > 0,
        "the manager's push waited behind the assistant's allowance"
    );

    // Nothing is refused or lost: every lead arrives, only later than it would have.
    assistant.synced_within(Duration::from_secs(120)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let least = f64::from(queued_kib - BURST_KIB) / f64::from(KIB_PER_S);
    assert!(
        elapsed >= least * 0.9,
        "{queued_kib} KiB went through in {elapsed:.1} s; the allowance needs at least {least:.1} s"
    );
    assert_eq!(
        assistant.replica.lock().unwrap().refused_count().unwrap(),
        0
    );
    eventually("the manager holds all 80 leads", || {
        (manager.find("Allowance buyer").len() == 80).then_some(())
    })
    .await;
    server.stop().await;
}

/// Two devices of one user (signed in twice, as a hand-written client could do as often as it likes) share one
/// allowance: together they take as long as one device with both queues would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_device_of_the_same_user_shares_the_allowance() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(tmp.path(), "127.0.0.1:0".parse().unwrap(), |s| {
        s.push_kib_per_s = KIB_PER_S;
        s.push_burst_kib = BURST_KIB;
    })
    .await;
    let mut one =
        Device::sign_in(&server, &tmp.path().join("one"), "assistant@demo.liveline").await;
    let mut two =
        Device::sign_in(&server, &tmp.path().join("two"), "assistant@demo.liveline").await;
    let mut queued = 0usize;
    for (d, dev) in [&one, &two].into_iter().enumerate() {
        for i in 0..40 {
            let mut input = lead(&format!("Shared allowance {d}-{i:02}"));
            input.notes = noise((d * 100 + i) as u64, 4500);
            dev.capture(&input);
        }
        let r = dev.replica.lock().unwrap();
        queued += r
            .pending(10_000)
            .unwrap()
            .iter()
            .map(|p| p.bytes.len())
            .sum::<usize>();
    }
    let queued_kib = (queued / 1024) as u32;
    let started = Instant::now();
    one.online();
    two.online();
    one.synced_within(Duration::from_secs(120)).await;
    two.synced_within(Duration::from_secs(120)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let least = f64::from(queued_kib - BURST_KIB) / f64::from(KIB_PER_S);
    assert!(
        elapsed >= least * 0.9,
        "{queued_kib} KiB from two devices of one user went through in {elapsed:.1} s; one allowance needs {least:.1} s"
    );
    for dev in [&one, &two] {
        assert_eq!(dev.replica.lock().unwrap().refused_count().unwrap(), 0);
    }
    server.stop().await;
}
