//! Domain enums as database columns: stored with their stable spelling,
//! parsed when a row is read, so no service ever re-parses a status.

use serde::{Deserialize, Serialize};

use crate::domain::{
    AttemptOutcome, Cause, ChargeOrigin, DisputeStatus, EcheanceStatus, EmailKind, HostDeliveryStatus, HostEvent,
    KeyMode, PlanStatus, RefundReason, RefundStatus, Role,
};
use crate::ssr::repo::queue::{InboxStatus, OutboxStatus};

/// Implements SeaORM's value traits for an enum written by [`crate::spelled!`].
macro_rules! spelled_column {
    ($($ty:ty),+ $(,)?) => {$(
        impl From<$ty> for sea_orm::Value {
            fn from(value: $ty) -> Self {
                value.as_str().to_owned().into()
            }
        }

        impl sea_orm::TryGetable for $ty {
            fn try_get_by<I: sea_orm::ColIdx>(res: &sea_orm::QueryResult, idx: I) -> Result<Self, sea_orm::TryGetError> {
                let raw = String::try_get_by(res, idx)?;
                <$ty>::parse(&raw).map_err(|e| sea_orm::TryGetError::DbErr(sea_orm::DbErr::Type(e.to_string())))
            }
        }

        impl sea_orm::sea_query::ValueType for $ty {
            fn try_from(value: sea_orm::Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
                let raw = <String as sea_orm::sea_query::ValueType>::try_from(value)?;
                <$ty>::parse(&raw).map_err(|_| sea_orm::sea_query::ValueTypeErr)
            }

            fn type_name() -> String {
                stringify!($ty).to_owned()
            }

            fn array_type() -> sea_orm::sea_query::ArrayType {
                sea_orm::sea_query::ArrayType::String
            }

            fn column_type() -> sea_orm::sea_query::ColumnType {
                sea_orm::sea_query::ColumnType::String(sea_orm::sea_query::StringLen::None)
            }
        }

        impl sea_orm::sea_query::Nullable for $ty {
            fn null() -> sea_orm::Value {
                <String as sea_orm::sea_query::Nullable>::null()
            }
        }

        impl sea_orm::IntoActiveValue<$ty> for $ty {
            fn into_active_value(self) -> sea_orm::ActiveValue<$ty> {
                sea_orm::ActiveValue::Set(self)
            }
        }
    )+};
}

/// Where a reconcile report stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReportStatus {
    /// The run is under way (or crashed).
    Running,
    /// The run finished; its figures are final.
    Finished,
}

crate::spelled!(ReportStatus { Running => "running", Finished => "finished" });

spelled_column!(
    EcheanceStatus,
    PlanStatus,
    AttemptOutcome,
    Role,
    EmailKind,
    Cause,
    ChargeOrigin,
    OutboxStatus,
    InboxStatus,
    ReportStatus,
    KeyMode,
    HostEvent,
    HostDeliveryStatus,
    RefundStatus,
    RefundReason,
    DisputeStatus
);
