//! Files the operator's commands write hold the database's rows: they are
//! no more readable than the database they came from.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use vibe_store::{Json, MissionStore, Phase};

use crate::common::backends::{Backend, TestStore};
use crate::common::{text, vibe_db};

crate::on_both_backends!(export_and_backup_files_are_as_private_as_the_database);

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn export_and_backup_files_are_as_private_as_the_database(backend: Backend) {
    let store = TestStore::open(backend);
    store
        .create_mission(Phase::Coding, Json::parse("m", "{}").unwrap())
        .unwrap();
    if backend == Backend::Sqlite {
        std::fs::set_permissions(&store.location, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let dir = store.dir.path();
    let vibe = |args: &[&str]| {
        let out = vibe_db(dir, &store.location).args(args).output().unwrap();
        assert!(out.status.success(), "vibe {args:?}: {}", text(&out.stderr));
    };
    let export = dir.join("trail.jsonl");
    vibe(&["export", "-o", export.to_str().unwrap()]);
    // PostgreSQL has no file mode to follow: 0600.
    assert_eq!(mode(&export), 0o600, "export of a 0600 database");
    // Written again over a file another umask left world-readable: the
    // new file replaces it, private from its first byte.
    std::fs::set_permissions(&export, std::fs::Permissions::from_mode(0o644)).unwrap();
    vibe(&["export", "-o", export.to_str().unwrap()]);
    assert_eq!(mode(&export), 0o600, "export over an existing file");
    assert!(text(&std::fs::read(&export).unwrap()).contains("mission_uuid"));
    // Nothing left beside it.
    assert_eq!(
        std::fs::read_dir(dir).unwrap().count(),
        1 + (backend == Backend::Sqlite) as usize
    );
    if backend == Backend::Sqlite {
        let backup = dir.join("copy.db");
        vibe(&["backup", backup.to_str().unwrap()]);
        assert_eq!(mode(&backup), 0o600, "backup of a 0600 database");
    }
}
