//! Relaying an older upstream's server-to-client requests to a 2026-07-28 caller.
//!
//! A 2025-era upstream asks for input (elicitation, sampling, roots) with a request in the middle
//! of a call and waits for the answer on the same connection. A 2026-07-28 caller cannot take
//! such a request: it expects an `input_required` result and retries the call with
//! `inputResponses` and the `requestState` it was given. The gateway bridges the two by
//! *parking* the upstream call: the call keeps running in a task, its question goes back to the
//! caller as an `input_required` result whose `requestState` names the parked call, and the
//! retry's answer is handed to the waiting upstream, whose next question or final result answers
//! the retry.
//!
//! The `requestState` is `gwp.<id>`, a 128-bit random id: it is a capability (unguessable and
//! single use), bound to the tool it was issued for, and it expires. A bounded number of calls
//! can be parked; beyond that the oldest is dropped, which cancels its upstream call.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use switchyard_protocol::jsonrpc::ErrorObject;
use switchyard_protocol::ErrorCode;
use tokio::sync::{mpsc, oneshot};

/// Prefix of the `requestState` values the gateway mints for parked calls.
pub(crate) const STATE_PREFIX: &str = "gwp.";
/// How long a parked call waits for the caller's answer: long enough for a person to fill a form.
pub(crate) const PARK_TTL: Duration = Duration::from_secs(10 * 60);
/// Most calls parked at once; beyond it the oldest is dropped (and its upstream call cancelled).
pub(crate) const MAX_PARKED: usize = 1024;

/// What a relayed call resolves to: the result bytes or a JSON-RPC error.
pub(crate) type CallResult = Result<Vec<u8>, ErrorObject>;
/// A relayed upstream call, owned so that it can outlive the request that started it.
pub(crate) type CallFuture = Pin<Box<dyn Future<Output = CallResult> + Send>>;

/// A question from the upstream, waiting for the caller's answer.
pub(crate) struct Ask {
    pub(crate) method: String,
    pub(crate) params: Value,
    pub(crate) reply: oneshot::Sender<Result<Value, ErrorObject>>,
}

/// The request whose caller currently hears a parked call's progress and logs: the retry that
/// resumed it, not the request that started it (whose stream has ended).
/// (Generic so that the parking logic is testable without a live request.)
pub(crate) struct CurrentCaller<C>(Arc<Mutex<C>>);

impl<C> Clone for CurrentCaller<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C: Clone> CurrentCaller<C> {
    pub(crate) fn new(ctx: C) -> Self {
        Self(Arc::new(Mutex::new(ctx)))
    }
    pub(crate) fn get(&self) -> C {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    fn set(&self, ctx: C) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = ctx;
    }
}

/// A relayed call running in its own task; dropping it cancels the call (aborting a task that
/// has finished does nothing), so neither a caller that goes away nor an expired parking spot
/// leaves an upstream call holding a slot.
struct CallTask(tokio::task::JoinHandle<CallResult>);

impl Drop for CallTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A call waiting for the caller's answer.
struct Parked<C> {
    call: CallTask,
    asks: mpsc::Receiver<Ask>,
    ask: Ask,
    key: String,
    tool: String,
    caller: CurrentCaller<C>,
    parked_at: Instant,
}

/// The parked calls of one gateway.
pub(crate) struct ParkingLot<C> {
    calls: Mutex<HashMap<String, Parked<C>>>,
}

impl<C> Default for ParkingLot<C> {
    fn default() -> Self {
        Self {
            calls: Mutex::new(HashMap::new()),
        }
    }
}

impl<C> std::fmt::Debug for ParkingLot<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParkingLot")
            .field("parked", &self.len())
            .finish()
    }
}

/// What one leg of a relayed call came to.
enum Leg {
    Done(CallResult),
    Asked(CallTask, mpsc::Receiver<Ask>, Ask),
}

/// Waits for the call's next question or its result, at most `timeout`: the upstream's own
/// time, which never includes the time a person takes to answer.
async fn run_leg(mut call: CallTask, mut asks: mpsc::Receiver<Ask>, timeout: Duration) -> Leg {
    let leg = async {
        tokio::select! {
            // The result wins a tie: a call that finished has no question left to ask.
            biased;
            r = &mut call.0 => Err(r.unwrap_or_else(|e| {
                Err(ErrorObject::new(
                    ErrorCode::INTERNAL_ERROR,
                    format!("relayed call ended abnormally: {e}"),
                ))
            })),
            Some(ask) = asks.recv() => Ok(ask),
        }
    };
    match tokio::time::timeout(timeout, leg).await {
        Ok(Ok(ask)) => Leg::Asked(call, asks, ask),
        Ok(Err(r)) => Leg::Done(r),
        // Dropping the task here cancels the upstream call.
        Err(_) => Leg::Done(Ok(timed_out(timeout))),
    }
}

/// A tool result saying the upstream did not answer in time: a tool failure the model can read,
/// as for any other unavailable upstream (parked calls only have 2026-07-28 callers).
fn timed_out(t: Duration) -> Vec<u8> {
    let text = format!("the upstream did not answer within {} s", t.as_secs_f64());
    crate::gateway::tool_failure(&text, true)
}

impl<C> ParkingLot<C> {
    /// How many calls wait for input.
    pub(crate) fn len(&self) -> usize {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl<C: Clone> ParkingLot<C> {
    /// Runs a relayed call for a 2026-07-28 caller. `asks` receives the upstream's questions;
    /// the first one parks the call and becomes an `input_required` result.
    pub(crate) async fn start(
        &self,
        tool: &str,
        call: CallFuture,
        asks: mpsc::Receiver<Ask>,
        caller: CurrentCaller<C>,
        leg_timeout: Duration,
    ) -> CallResult {
        let leg = run_leg(CallTask(tokio::spawn(call)), asks, leg_timeout).await;
        self.settle(tool, leg, caller)
    }

    /// Resumes the parked call that `state` names with the caller's answers.
    pub(crate) async fn resume(
        &self,
        state: &str,
        tool: &str,
        responses: Option<&Map<String, Value>>,
        leg_timeout: Duration,
        ctx: C,
    ) -> CallResult {
        let id = state.strip_prefix(STATE_PREFIX).unwrap_or(state);
        let parked = {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            match calls.remove(id) {
                Some(p) if p.tool != tool => {
                    // Not this tool's: leave it for the request it belongs to.
                    calls.insert(id.to_owned(), p);
                    None
                }
                Some(p) if p.parked_at.elapsed() < PARK_TTL => Some(p),
                _ => None,
            }
        };
        let Some(p) = parked else {
            return Err(ErrorObject::new(
                ErrorCode::INVALID_PARAMS,
                "requestState is unknown, expired or for another request; call the tool again without it",
            ));
        };
        p.caller.set(ctx);
        let Some(answer) = responses.and_then(|r| r.get(&p.key)).cloned() else {
            // Asked but not answered: ask again, under a fresh state.
            return Ok(self.park(p));
        };
        let Parked {
            call,
            asks,
            ask,
            caller,
            ..
        } = p;
        // The upstream may have given up waiting; then the call's own result says so.
        let _ = ask.reply.send(Ok(answer));
        let leg = run_leg(call, asks, leg_timeout).await;
        self.settle(tool, leg, caller)
    }

    fn settle(&self, tool: &str, leg: Leg, caller: CurrentCaller<C>) -> CallResult {
        match leg {
            Leg::Done(r) => r,
            Leg::Asked(call, asks, ask) => Ok(self.park(Parked {
                call,
                asks,
                ask,
                key: format!("upstream-{}", short_id()),
                tool: tool.to_owned(),
                caller,
                parked_at: Instant::now(),
            })),
        }
    }

    /// Stores a parked call under a fresh id and renders its `input_required` result.
    fn park(&self, mut p: Parked<C>) -> Vec<u8> {
        let id = long_id();
        p.parked_at = Instant::now();
        let out = crate::gateway::input_required_result(
            &p.key,
            &p.ask.method,
            p.ask.params.clone(),
            format!("{STATE_PREFIX}{id}"),
        );
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls.retain(|_, c| c.parked_at.elapsed() < PARK_TTL);
        if calls.len() >= MAX_PARKED {
            if let Some(oldest) = calls
                .iter()
                .min_by_key(|(_, c)| c.parked_at)
                .map(|(k, _)| k.clone())
            {
                tracing::warn!("{MAX_PARKED} calls wait for input; dropping the oldest");
                calls.remove(&oldest);
            }
        }
        calls.insert(id, p);
        out
    }
}

fn long_id() -> String {
    let b: [u8; 16] = rand::random();
    URL_SAFE_NO_PAD.encode(b)
}

fn short_id() -> String {
    let b: [u8; 6] = rand::random();
    URL_SAFE_NO_PAD.encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(5);

    /// A stand-in for an older upstream's call: asks `questions` times, then returns every
    /// answer it got.
    fn asking_call(questions: usize) -> (CallFuture, mpsc::Receiver<Ask>) {
        let (tx, rx) = mpsc::channel(1);
        let fut = Box::pin(async move {
            let mut answers = Vec::new();
            for i in 0..questions {
                let (reply, wait) = oneshot::channel();
                let ask = Ask {
                    method: "elicitation/create".into(),
                    params: serde_json::json!({"message": format!("question {i}")}),
                    reply,
                };
                if tx.send(ask).await.is_err() {
                    return Err(ErrorObject::new(ErrorCode::INTERNAL_ERROR, "gone"));
                }
                match wait.await {
                    Ok(Ok(v)) => answers.push(v),
                    _ => return Err(ErrorObject::new(ErrorCode::INTERNAL_ERROR, "no answer")),
                }
            }
            Ok(serde_json::to_vec(&serde_json::json!({ "answers": answers })).unwrap_or_default())
        }) as CallFuture;
        (fut, rx)
    }

    fn parse(r: &CallResult) -> Value {
        let bytes = r.as_ref().expect("an ok result");
        serde_json::from_slice(bytes).expect("json")
    }

    /// The one key and the state of an `input_required` result.
    fn question(v: &Value) -> (String, String, Value) {
        assert_eq!(v["resultType"], "input_required");
        let reqs = v["inputRequests"].as_object().expect("inputRequests");
        assert_eq!(reqs.len(), 1);
        let (k, r) = reqs.iter().next().expect("one request");
        let state = v["requestState"].as_str().expect("state").to_owned();
        assert!(state.starts_with(STATE_PREFIX));
        (k.clone(), state, r.clone())
    }

    fn answer(key: &str, text: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            key.into(),
            serde_json::json!({"action": "accept", "content": {"a": text}}),
        );
        m
    }

    #[tokio::test]
    async fn a_question_becomes_input_required_and_the_answer_reaches_the_call() {
        let lot = ParkingLot::<u32>::default();
        let (call, asks) = asking_call(2);
        let r = lot.start("t", call, asks, CurrentCaller::new(1), T).await;
        let (k, state, req) = question(&parse(&r));
        assert_eq!(req["method"], "elicitation/create");
        assert_eq!(req["params"]["message"], "question 0");
        assert_eq!(lot.len(), 1);

        let r = lot
            .resume(&state, "t", Some(&answer(&k, "one")), T, 2)
            .await;
        let (k2, state2, req2) = question(&parse(&r));
        assert_eq!(req2["params"]["message"], "question 1");
        assert_ne!(state2, state, "each round gets a fresh state");

        // The first state was spent.
        let stale = lot.resume(&state, "t", Some(&answer(&k, "x")), T, 3).await;
        assert_eq!(stale.expect_err("spent").code, ErrorCode::INVALID_PARAMS);

        let r = lot
            .resume(&state2, "t", Some(&answer(&k2, "two")), T, 3)
            .await;
        let v = parse(&r);
        assert_eq!(v["answers"][0]["content"]["a"], "one");
        assert_eq!(v["answers"][1]["content"]["a"], "two");
        assert_eq!(lot.len(), 0);
    }

    #[tokio::test]
    async fn an_upstream_that_stops_answering_fails_the_call_as_a_tool_within_the_timeout() {
        let lot = ParkingLot::<u32>::default();
        let (_tx, asks) = mpsc::channel(1);
        let hang = Box::pin(std::future::pending::<CallResult>()) as CallFuture;
        let short = Duration::from_millis(50);
        let v = parse(
            &lot.start("t", hang, asks, CurrentCaller::new(1), short)
                .await,
        );
        assert_eq!(v["isError"], true);
        assert_eq!(v["resultType"], "complete");
        assert!(v["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("did not answer")));
        assert_eq!(lot.len(), 0);
    }

    #[tokio::test]
    async fn a_call_without_questions_is_just_its_result() {
        let lot = ParkingLot::<u32>::default();
        let (call, asks) = asking_call(0);
        let v = parse(&lot.start("t", call, asks, CurrentCaller::new(1), T).await);
        assert_eq!(v["answers"], serde_json::json!([]));
        assert_eq!(lot.len(), 0);
    }

    #[tokio::test]
    async fn unknown_forged_or_other_tools_states_are_refused() {
        let lot = ParkingLot::<u32>::default();
        let (call, asks) = asking_call(1);
        let r = lot.start("t", call, asks, CurrentCaller::new(1), T).await;
        let (k, state, _) = question(&parse(&r));

        let forged = lot
            .resume("gwp.AAAAAAAAAAAAAAAAAAAAAA", "t", None, T, 2)
            .await;
        assert_eq!(forged.expect_err("forged").code, ErrorCode::INVALID_PARAMS);
        let other = lot
            .resume(&state, "other_tool", Some(&answer(&k, "x")), T, 2)
            .await;
        assert_eq!(
            other.expect_err("other tool").code,
            ErrorCode::INVALID_PARAMS
        );
        // The call is still there for its own tool.
        let v = parse(&lot.resume(&state, "t", Some(&answer(&k, "ok")), T, 2).await);
        assert_eq!(v["answers"][0]["content"]["a"], "ok");
    }

    #[tokio::test]
    async fn a_retry_without_the_answer_is_asked_again() {
        let lot = ParkingLot::<u32>::default();
        let (call, asks) = asking_call(1);
        let r = lot.start("t", call, asks, CurrentCaller::new(1), T).await;
        let (k, state, _) = question(&parse(&r));
        let r = lot.resume(&state, "t", Some(&Map::new()), T, 2).await;
        let (k2, state2, req) = question(&parse(&r));
        assert_eq!(k2, k, "the same question, under the same key");
        assert_eq!(req["params"]["message"], "question 0");
        let v = parse(
            &lot.resume(&state2, "t", Some(&answer(&k, "late")), T, 3)
                .await,
        );
        assert_eq!(v["answers"][0]["content"]["a"], "late");
    }

    #[tokio::test]
    async fn the_latest_caller_hears_the_call() {
        let lot = ParkingLot::<u32>::default();
        let caller = CurrentCaller::new(1);
        let (call, asks) = asking_call(1);
        let r = lot.start("t", call, asks, caller.clone(), T).await;
        let (k, state, _) = question(&parse(&r));
        assert_eq!(caller.get(), 1);
        let _ = lot.resume(&state, "t", Some(&answer(&k, "x")), T, 7).await;
        assert_eq!(caller.get(), 7);
    }

    #[tokio::test]
    async fn beyond_the_cap_the_oldest_parked_call_is_cancelled() {
        let lot = ParkingLot::<u32>::default();
        // A call that notices being cancelled: its sender half drops when the task is aborted.
        let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
        let (tx, asks) = mpsc::channel(1);
        let first = Box::pin(async move {
            let _alive = alive_tx;
            let (reply, wait) = oneshot::channel();
            let _ = tx
                .send(Ask {
                    method: "roots/list".into(),
                    params: serde_json::json!({}),
                    reply,
                })
                .await;
            let _ = wait.await;
            Ok(Vec::new())
        }) as CallFuture;
        let _ = lot.start("t", first, asks, CurrentCaller::new(0), T).await;
        for i in 0..MAX_PARKED {
            let (call, asks) = asking_call(1);
            let _ = lot
                .start("t", call, asks, CurrentCaller::new(i as u32), T)
                .await;
        }
        assert_eq!(lot.len(), MAX_PARKED);
        // The first call's task was aborted: its end of the channel is gone.
        assert!(alive_rx.recv().await.is_none());
    }
}
