//! The simulated disk keeps what was synced and loses (or tears) what was not; the real
//! disk does what the trait says.

use std::io::ErrorKind;
use std::path::Path;

use harness::disk::{CrashMode, Disk, RealDisk, SimDisk};

fn disk_with_dir(seed: u64) -> SimDisk {
    let disk = SimDisk::new(seed);
    disk.create_dir_all(Path::new("/d")).expect("mkdir");
    disk
}

#[test]
fn synced_bytes_survive_a_crash_and_unsynced_ones_do_not() -> std::io::Result<()> {
    let disk = disk_with_dir(1);
    let path = Path::new("/d/log");
    let mut log = disk.open_append(path)?;
    disk.sync_dir(Path::new("/d"))?;
    log.append(b"one;")?;
    log.append(b"two;")?;
    log.sync()?;
    log.append(b"three;")?;
    assert_eq!(
        disk.read(path)?,
        b"one;two;three;",
        "before the crash the program sees everything"
    );
    let report = disk.crash_with(CrashMode::LoseUnsynced);
    assert_eq!(
        disk.read(path)?,
        b"one;two;",
        "after it, only what was synced"
    );
    assert_eq!(
        report.bytes_lost, 6,
        "the crash report counts the unsynced bytes lost: three; is 6 bytes"
    );
    Ok(())
}

#[test]
fn a_torn_write_leaves_a_partial_record_that_may_read_as_zeros() -> std::io::Result<()> {
    let (mut zeroed, mut kept) = (0, 0);
    for seed in 0..200 {
        let disk = disk_with_dir(seed);
        let path = Path::new("/d/log");
        let mut log = disk.open_append(path)?;
        disk.sync_dir(Path::new("/d"))?;
        log.append(b"synced;")?;
        log.sync()?;
        log.append(b"AAAA")?;
        log.append(b"BBBBBBBB")?;
        let report = disk.crash_with(CrashMode::Torn);
        let after = disk.read(path)?;
        assert_eq!(
            report.torn_files,
            vec![path.to_path_buf()],
            "seed {seed}: the crash report names the file whose tail was torn"
        );
        assert!(
            after.starts_with(b"synced;"),
            "seed {seed}: synced bytes always survive: {after:?}"
        );
        let tail = &after[7..];
        assert!(
            !tail.is_empty() && tail.len() < 12,
            "seed {seed}: a torn tail is partial: {tail:?}"
        );
        if tail.iter().rev().take_while(|b| **b == 0).count() > 0 {
            zeroed += 1;
        } else {
            assert!(
                b"AAAABBBBBBBB".starts_with(tail),
                "seed {seed}: a surviving tail is a prefix: {tail:?}"
            );
            kept += 1;
        }
    }
    assert!(
        zeroed > 0 && kept > 0,
        "over 200 seeds both kinds of tear happen ({zeroed} zeroed, {kept} kept)"
    );
    Ok(())
}

#[test]
fn seeded_crashes_sometimes_lose_and_sometimes_tear_and_replay_exactly() -> std::io::Result<()> {
    let run = |seed| -> std::io::Result<Vec<u8>> {
        let disk = disk_with_dir(seed);
        let mut log = disk.open_append(Path::new("/d/log"))?;
        disk.sync_dir(Path::new("/d"))?;
        log.append(b"0123456789")?;
        disk.crash();
        disk.read(Path::new("/d/log"))
    };
    let outcomes: Vec<Vec<u8>> = (0..64).map(run).collect::<Result<_, _>>()?;
    assert!(
        outcomes.iter().any(Vec::is_empty),
        "some seeds lose the unsynced write"
    );
    assert!(outcomes.iter().any(|o| !o.is_empty()), "some seeds tear it");
    for seed in 0..64 {
        assert_eq!(
            run(seed)?,
            outcomes[seed as usize],
            "seed {seed} replays the same crash"
        );
    }
    Ok(())
}

#[test]
fn directory_entries_need_sync_dir_to_survive() -> std::io::Result<()> {
    let disk = disk_with_dir(3);
    let dir = Path::new("/d");
    disk.write_file(&dir.join("old"), b"old")?;
    disk.sync_file(&dir.join("old"))?;
    disk.sync_dir(dir)?;

    // The atomic-replace pattern: write a temp file, sync it, rename it over the old one.
    disk.write_file(&dir.join("tmp"), b"new")?;
    disk.sync_file(&dir.join("tmp"))?;
    disk.rename(&dir.join("tmp"), &dir.join("old"))?;
    disk.write_file(&dir.join("unsynced-name"), b"x")?;
    disk.sync_file(&dir.join("unsynced-name"))?;
    disk.crash_with(CrashMode::LoseUnsynced);
    assert_eq!(
        disk.read(&dir.join("old"))?,
        b"old",
        "a rename without sync_dir is forgotten"
    );
    assert_eq!(
        disk.list(dir)?,
        vec![dir.join("old")],
        "so is a new file's name"
    );

    disk.write_file(&dir.join("tmp"), b"new")?;
    disk.sync_file(&dir.join("tmp"))?;
    disk.rename(&dir.join("tmp"), &dir.join("old"))?;
    disk.sync_dir(dir)?;
    disk.crash_with(CrashMode::LoseUnsynced);
    assert_eq!(
        disk.read(&dir.join("old"))?,
        b"new",
        "with sync_dir the rename is durable"
    );
    Ok(())
}

#[test]
fn an_unsynced_truncation_may_be_undone_whole_or_in_part() -> std::io::Result<()> {
    let path = Path::new("/d/f");
    let mut lengths = std::collections::BTreeSet::new();
    for seed in 0..100 {
        let disk = disk_with_dir(seed);
        disk.write_file(path, b"durable bytes")?;
        disk.sync_file(path)?;
        disk.sync_dir(Path::new("/d"))?;
        disk.truncate(path, 3)?;
        assert_eq!(
            disk.read(path)?,
            b"dur",
            "before a crash the program sees the truncation"
        );
        disk.crash_with(if seed % 2 == 0 {
            CrashMode::LoseUnsynced
        } else {
            CrashMode::Torn
        });
        let after = disk.read(path)?;
        assert!(
            b"durable bytes".starts_with(&after) && after.len() >= 3,
            "seed {seed}: an unsynced truncation leaves the old bytes, cut somewhere between \
             the new length and the old one: {after:?}"
        );
        lengths.insert(after.len());
    }
    assert!(
        lengths.contains(&13) && lengths.iter().any(|&l| l < 13),
        "both a truncation undone whole and one carried out in part happen: {lengths:?}"
    );
    Ok(())
}

#[test]
fn a_file_rewritten_in_place_may_be_left_part_old_and_part_new() -> std::io::Result<()> {
    let path = Path::new("/d/snapshot");
    let (old, new) = (vec![b'o'; 200], vec![b'n'; 200]);
    let mut mixed = 0;
    for seed in 0..100 {
        let disk = disk_with_dir(seed);
        disk.write_file(path, &old)?;
        disk.sync_file(path)?;
        disk.sync_dir(Path::new("/d"))?;
        disk.write_file(path, &new)?;
        disk.crash_with(CrashMode::Reordered);
        let after = disk.read(path)?;
        assert!(
            after.iter().all(|&b| b == b'o' || b == b'n'),
            "seed {seed}: every byte is the old file's or the new one's"
        );
        if after.contains(&b'o') && after.contains(&b'n') {
            mixed += 1;
        }
    }
    assert!(
        mixed > 50,
        "a rewrite in place torn by a crash mixes old and new blocks most of the time ({mixed} \
         of 100): a file that must survive whole is written to a temporary file and renamed"
    );
    let disk = disk_with_dir(1);
    disk.write_file(path, &old)?;
    disk.sync_file(path)?;
    disk.sync_dir(Path::new("/d"))?;
    disk.write_file(path, &new)?;
    disk.crash_with(CrashMode::LoseUnsynced);
    assert_eq!(
        disk.read(path)?,
        old,
        "losing every unsynced write leaves the old file whole"
    );
    Ok(())
}

#[test]
fn a_full_disk_and_failing_syncs_are_errors_that_change_nothing() -> std::io::Result<()> {
    let disk = disk_with_dir(5);
    let path = Path::new("/d/log");
    let mut log = disk.open_append(path)?;
    disk.sync_dir(Path::new("/d"))?;
    disk.set_full(true);
    let error = log.append(b"x").expect_err("a full disk refuses appends");
    assert_eq!(
        error.kind(),
        ErrorKind::StorageFull,
        "a full disk refuses appends with StorageFull, as a real one would"
    );
    assert_eq!(disk.read(path)?, b"", "nothing was appended");
    disk.set_full(false);
    log.append(b"data")?;
    disk.set_failing_syncs(true);
    assert!(log.sync().is_err(), "a failing sync is reported");
    disk.crash_with(CrashMode::LoseUnsynced);
    assert_eq!(disk.read(path)?, b"", "and made nothing durable");
    Ok(())
}

#[test]
fn the_real_disk_does_what_the_trait_says() -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    let disk = RealDisk;
    let sub = dir.path().join("sub");
    disk.create_dir_all(&sub)?;
    let mut log = disk.open_append(&sub.join("log"))?;
    log.append(b"hello ")?;
    log.append(b"world")?;
    log.sync()?;
    assert_eq!(
        log.len(),
        11,
        "the length of an append file counts every byte appended"
    );
    assert_eq!(
        disk.open_append(&sub.join("log"))?.len(),
        11,
        "reopening finds the length"
    );
    disk.truncate(&sub.join("log"), 5)?;
    assert_eq!(
        log.len(),
        5,
        "an open handle sees a truncation made through the path"
    );
    log.append(b"!")?;
    disk.write_file(&sub.join("tmp"), b"snapshot")?;
    disk.sync_file(&sub.join("tmp"))?;
    disk.rename(&sub.join("tmp"), &sub.join("snap"))?;
    disk.sync_dir(&sub)?;
    assert_eq!(
        disk.list(&sub)?,
        vec![sub.join("log"), sub.join("snap")],
        "list names the directory's entries, the renamed snapshot included"
    );
    assert_eq!(
        disk.read(&sub.join("log"))?,
        b"hello!",
        "appends go on at the new end"
    );
    disk.remove(&sub.join("snap"))?;
    assert_eq!(
        disk.list(&sub)?,
        vec![sub.join("log")],
        "a removed file is no longer listed"
    );
    Ok(())
}

#[test]
fn a_mount_from_before_a_crash_can_touch_nothing() -> std::io::Result<()> {
    let disk = disk_with_dir(6);
    let program = disk.mount();
    program.write_file(Path::new("/d/f"), b"x")?;
    program.sync_file(Path::new("/d/f"))?;
    program.sync_dir(Path::new("/d"))?;
    disk.crash();
    for outcome in [
        program.truncate(Path::new("/d/f"), 0),
        program.rename(Path::new("/d/f"), Path::new("/d/g")),
        program.write_file(Path::new("/d/h"), b"zombie"),
        program.read(Path::new("/d/f")).map(drop),
    ] {
        assert!(
            outcome.is_err(),
            "a crashed program's handle is fenced off: {outcome:?}"
        );
    }
    assert_eq!(disk.read(Path::new("/d/f"))?, b"x", "its file is untouched");
    assert_eq!(
        disk.mount().read(Path::new("/d/f"))?,
        b"x",
        "a new mount works"
    );
    Ok(())
}

#[test]
fn a_file_written_atomically_survives_a_crash_whole() -> std::io::Result<()> {
    let disk = disk_with_dir(9);
    let dir = Path::new("/d");
    harness::disk::write_atomically(&disk, dir, "meta.json", b"old")?;
    disk.crash_with(CrashMode::LoseUnsynced);
    let disk = disk.mount();
    assert_eq!(
        disk.read(&dir.join("meta.json"))?,
        b"old",
        "a file written atomically survives a crash whole"
    );
    harness::disk::write_atomically(&disk, dir, "meta.json", b"new")?;
    disk.crash_with(CrashMode::LoseUnsynced);
    let disk = disk.mount();
    assert_eq!(
        disk.read(&dir.join("meta.json"))?,
        b"new",
        "once write_atomically returns, the new content is durable"
    );
    Ok(())
}

#[test]
fn a_reordered_crash_keeps_synced_bytes_and_any_subset_of_unsynced_blocks() {
    let (dir, path) = (Path::new("/d"), Path::new("/d/log"));
    let synced: Vec<u8> = (0..50u8).map(|b| b | 0x80).collect();
    let unsynced: Vec<u8> = (0..200u8).map(|b| b | 0x80).collect();
    let mut hole_then_intact = 0;
    for seed in 0..200 {
        let disk = SimDisk::new(seed);
        disk.create_dir_all(dir).expect("mkdir");
        let mut log = disk.open_append(path).expect("open");
        disk.sync_dir(dir).expect("sync dir");
        log.append(&synced).expect("append");
        log.sync().expect("sync");
        log.append(&unsynced[..120]).expect("append");
        log.append(&unsynced[120..]).expect("append");
        disk.crash_with(CrashMode::Reordered);
        let after = disk.read(path).expect("read");
        assert_eq!(
            &after[..synced.len()],
            &synced[..],
            "seed {seed}: synced bytes survive"
        );
        let tail = &after[synced.len()..];
        assert!(
            tail.len() <= unsynced.len(),
            "seed {seed}: nothing is invented"
        );
        for (i, &b) in tail.iter().enumerate() {
            assert!(
                b == 0 || b == unsynced[i],
                "seed {seed}: byte {i} is its own or zero"
            );
        }
        // Blocks are aligned to the file: each is wholly kept or wholly zeroed.
        let first_zero = tail.iter().position(|&b| b == 0);
        if let Some(z) = first_zero
            && tail[z..].iter().any(|&b| b != 0)
        {
            hole_then_intact += 1;
        }
    }
    assert!(
        hole_then_intact > 20,
        "a hole followed by intact bytes is common, not rare: {hole_then_intact} of 200"
    );
}

#[test]
fn a_crash_during_a_sync_fails_it_and_makes_nothing_durable() {
    let (dir, path) = (Path::new("/d"), Path::new("/d/log"));
    let disk = SimDisk::new(3);
    disk.create_dir_all(dir).expect("mkdir");
    let mut log = disk.mount().open_append(path).expect("open");
    disk.sync_dir(dir).expect("sync dir");
    log.append(b"first;").expect("append");
    disk.crash_during_sync(2, CrashMode::LoseUnsynced);
    log.sync().expect("the first sync is not the armed one");
    log.append(b"second").expect("append");
    assert!(log.sync().is_err(), "power is lost during the second sync");
    assert!(disk.armed_crash().is_some(), "the crash is reported");
    assert!(
        log.append(b"x").is_err(),
        "the crashed program's handles are dead"
    );
    assert_eq!(
        disk.read(path).expect("read"),
        b"first;",
        "nothing after the last successful sync is durable: a crash during a sync keeps only what came before"
    );
}

#[test]
fn one_armed_sync_failure_fails_that_sync_alone_and_the_program_goes_on() {
    let disk = disk_with_dir(3);
    let path = Path::new("/d/log");
    let mut log = disk.open_append(path).expect("open");
    disk.sync_dir(Path::new("/d")).expect("sync dir");
    disk.fail_sync(2);
    log.append(b"first;").expect("append");
    log.sync().expect("the first sync is not the armed one");
    assert!(!disk.failed_sync(), "the failure is still armed");
    log.append(b"second;").expect("append");
    assert!(log.sync().is_err(), "the second sync fails");
    assert!(disk.failed_sync(), "the armed failure happened");
    log.append(b"third;")
        .expect("a failed sync kills nothing: the program goes on");
    log.sync().expect("the sync after the failed one works");
    disk.crash_with(CrashMode::LoseUnsynced);
    assert_eq!(
        disk.read(path).expect("read"),
        b"first;second;third;",
        "a later successful sync makes everything before it durable, the failed sync's bytes too"
    );
}
