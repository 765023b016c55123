//! State of one API instance, shared by its filters and websocket sessions.

use crate::context::ApiContext;
use crate::live::rooms::Rooms;
use crate::metrics::ServerMetrics;
use guildflow_dataflow::state::Listening;
use std::sync::Arc;
use tokio::sync::watch;

pub(crate) struct Shared {
    pub ctx: ApiContext,
    pub metrics: ServerMetrics,
    pub rooms: Arc<Rooms>,
    /// `true` once the server shuts down (websocket sessions close with 1001).
    pub shutdown: watch::Sender<bool>,
    /// Keeps the state listener registered as long as the API exists.
    _listening: Listening,
}

impl Shared {
    pub fn new(ctx: ApiContext) -> Arc<Self> {
        let rooms = Arc::new(Rooms::default());
        let listener_rooms = Arc::clone(&rooms);
        let listening = ctx
            .state
            .listen(move |event| listener_rooms.dispatch(event));
        Arc::new(Shared {
            ctx,
            metrics: ServerMetrics::default(),
            rooms,
            shutdown: watch::channel(false).0,
            _listening: listening,
        })
    }
}
