//! Types every guildflow layer shares: typed Discord ids, the normalized gateway event and
//! calendar periods. No I/O and no engine here: `shards` produces these values, `dataflow`,
//! `store`, `queries` and `api` consume them.

pub mod event;
pub mod frame;
pub mod id;
pub mod metric;
pub mod period;

pub use event::{
    ChannelInfo, ChannelKind, Event, EventBody, EventKind, GuildInfo, MemberInfo, MessageCreate,
    MessageRef, MessageUpdate, Reaction, RoleInfo, VoiceState,
};
pub use frame::RawFrame;
pub use id::{ChannelId, EmojiId, GuildId, MessageId, RoleId, UserId};
pub use metric::Metric;
pub use period::{Bucket, Period};
