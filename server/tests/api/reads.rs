//! Pages made of several reads (a plan's page, an échéance's timeline) read one moment of the
//! database: a change committed meanwhile by another request is not half seen.

use app::domain::EcheanceStatus;
use app::ssr::db;
use app::ssr::entities::echeance;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter};

use crate::helpers::{cards, spawn_app};

#[tokio::test]
async fn a_read_transaction_keeps_seeing_the_moment_of_its_first_read_while_another_connection_commits() {
    let app = spawn_app().await;
    let alice = app.customer("alice", Some(cards::OK)).await;
    let e = app.echeance(&alice, 1_000, app.today()).await;
    let status = |row: Option<echeance::Model>| row.expect("échéance").status;

    let read = db::begin_read(&app.state.db).await.expect("begin");
    let first = status(echeance::Entity::find_by_id(e).one(&read).await.expect("read"));
    assert_eq!(first, EcheanceStatus::APayer);
    // Another request commits a change on its own connection.
    app.set_status(e, EcheanceStatus::Annulee).await;
    assert_eq!(app.status(e).await, EcheanceStatus::Annulee, "committed");

    let again = status(echeance::Entity::find_by_id(e).one(&read).await.expect("read"));
    assert_eq!(again, EcheanceStatus::APayer, "the same moment as the first read");
    read.commit().await.expect("commit");

    // On PostgreSQL it is READ ONLY: a write through it is refused.
    if app.state.db.get_database_backend() == DbBackend::Postgres {
        let read = db::begin_read(&app.state.db).await.expect("begin");
        let write = echeance::Entity::update_many()
            .col_expr(echeance::Column::Label, Expr::value("changed"))
            .filter(echeance::Column::Id.eq(e))
            .exec(&read)
            .await;
        assert!(write.is_err(), "{write:?}");
        read.rollback().await.expect("rollback");
    }
}
