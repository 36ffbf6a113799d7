//! Leases: at most one instance runs a singleton job (the reconciler, the
//! schedules) at a time. A lease expires on its own if its holder dies.

use sea_orm::{ConnectionTrait, DbErr, Statement};

/// Takes (or renews) lease `name` for `ttl_ms` if it is free, expired, or already ours.
///
/// # Errors
/// Database failure.
pub async fn acquire(
    db: &impl ConnectionTrait,
    name: &str,
    holder: &str,
    ttl_ms: i64,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let stmt = Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO job_leases (name, holder, acquired_at, expires_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at \
         WHERE job_leases.expires_at < $3 OR job_leases.holder = $2",
        [name.into(), holder.into(), now_ms.into(), now_ms.saturating_add(ttl_ms).into()],
    );
    Ok(db.execute_raw(stmt).await?.rows_affected() == 1)
}

/// Gives lease `name` back, if it is still ours.
///
/// # Errors
/// Database failure.
pub async fn release(db: &impl ConnectionTrait, name: &str, holder: &str) -> Result<(), DbErr> {
    let stmt = Statement::from_sql_and_values(
        db.get_database_backend(),
        "DELETE FROM job_leases WHERE name = $1 AND holder = $2",
        [name.into(), holder.into()],
    );
    db.execute_raw(stmt).await?;
    Ok(())
}
