//! The live board's WebSocket as a display uses it: open it with
//! `?token=`, read its messages, notice when the server closes it.

use super::Server;
use futures::StreamExt;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the live socket with `?token=` and reads its first snapshot.
pub async fn open_socket(server: &Server, token: &str) -> Socket {
    let url = format!(
        "{}/api/v1/live?token={token}",
        server.base.replacen("http://", "ws://", 1)
    );
    let (mut socket, _) = connect_async(url).await.expect("websocket handshake");
    let first = next_text(&mut socket, Duration::from_secs(30))
        .await
        .expect("a snapshot");
    assert_eq!(first["type"], "snapshot", "{first}");
    socket
}

/// The next text message, or `None` once the server closed the socket;
/// panics if it neither sends nor closes within `within`.
pub async fn next_text(socket: &mut Socket, within: Duration) -> Option<Value> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Err(_) => panic!("socket neither sent nor closed within {within:?}"),
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return None,
            Ok(Some(Ok(Message::Text(text)))) => {
                return Some(serde_json::from_str(&text).expect("JSON message"));
            }
            Ok(Some(Ok(_))) => {}
        }
    }
}
