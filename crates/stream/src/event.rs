//! The events the parser emits.

/// One thing the parser learned. Text borrows from the fed chunk or from the
/// parser, so emitting an event allocates nothing.
///
/// Each event comes with a [`crate::Path`]: the path of the value it belongs
/// to (for [`Event::Key`], the path of the member the key introduces).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// `{` opened an object.
    ObjectStart,
    /// `}` closed the object.
    ObjectEnd,
    /// `[` opened an array.
    ArrayStart,
    /// `]` closed the array.
    ArrayEnd,
    /// A complete, decoded object key.
    Key(&'a str),
    /// A string value opened.
    StringStart,
    /// More decoded text of the open string value, as soon as it arrived.
    /// Concatenating the deltas between `StringStart` and `StringEnd` gives
    /// the string.
    StringDelta(&'a str),
    /// The string value closed.
    StringEnd,
    /// A complete number, as its JSON text (arbitrary precision is kept).
    Number(&'a str),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// A member of the top-level object is complete (emitted after its last
    /// event; the path is `/key`). Tool-call arguments are the members of
    /// the top-level object, so this marks an argument as final.
    FieldComplete,
}

impl Event<'_> {
    /// A stable snake_case name for the event kind (`"string_delta"`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Event::ObjectStart => "object_start",
            Event::ObjectEnd => "object_end",
            Event::ArrayStart => "array_start",
            Event::ArrayEnd => "array_end",
            Event::Key(_) => "key",
            Event::StringStart => "string_start",
            Event::StringDelta(_) => "string_delta",
            Event::StringEnd => "string_end",
            Event::Number(_) => "number",
            Event::Bool(_) => "bool",
            Event::Null => "null",
            Event::FieldComplete => "field_complete",
        }
    }

    /// An owned copy of this event.
    #[must_use]
    pub fn to_owned_event(&self) -> OwnedEvent {
        match *self {
            Event::ObjectStart => OwnedEvent::ObjectStart,
            Event::ObjectEnd => OwnedEvent::ObjectEnd,
            Event::ArrayStart => OwnedEvent::ArrayStart,
            Event::ArrayEnd => OwnedEvent::ArrayEnd,
            Event::Key(k) => OwnedEvent::Key(k.to_owned()),
            Event::StringStart => OwnedEvent::StringStart,
            Event::StringDelta(s) => OwnedEvent::StringDelta(s.to_owned()),
            Event::StringEnd => OwnedEvent::StringEnd,
            Event::Number(n) => OwnedEvent::Number(n.to_owned()),
            Event::Bool(b) => OwnedEvent::Bool(b),
            Event::Null => OwnedEvent::Null,
            Event::FieldComplete => OwnedEvent::FieldComplete,
        }
    }
}

/// An [`Event`] that owns its text, for collecting events.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OwnedEvent {
    /// See [`Event::ObjectStart`].
    ObjectStart,
    /// See [`Event::ObjectEnd`].
    ObjectEnd,
    /// See [`Event::ArrayStart`].
    ArrayStart,
    /// See [`Event::ArrayEnd`].
    ArrayEnd,
    /// See [`Event::Key`].
    Key(String),
    /// See [`Event::StringStart`].
    StringStart,
    /// See [`Event::StringDelta`].
    StringDelta(String),
    /// See [`Event::StringEnd`].
    StringEnd,
    /// See [`Event::Number`].
    Number(String),
    /// See [`Event::Bool`].
    Bool(bool),
    /// See [`Event::Null`].
    Null,
    /// See [`Event::FieldComplete`].
    FieldComplete,
}

impl OwnedEvent {
    /// Borrows this event as an [`Event`].
    #[must_use]
    pub fn as_event(&self) -> Event<'_> {
        match self {
            OwnedEvent::ObjectStart => Event::ObjectStart,
            OwnedEvent::ObjectEnd => Event::ObjectEnd,
            OwnedEvent::ArrayStart => Event::ArrayStart,
            OwnedEvent::ArrayEnd => Event::ArrayEnd,
            OwnedEvent::Key(k) => Event::Key(k),
            OwnedEvent::StringStart => Event::StringStart,
            OwnedEvent::StringDelta(s) => Event::StringDelta(s),
            OwnedEvent::StringEnd => Event::StringEnd,
            OwnedEvent::Number(n) => Event::Number(n),
            OwnedEvent::Bool(b) => Event::Bool(*b),
            OwnedEvent::Null => Event::Null,
            OwnedEvent::FieldComplete => Event::FieldComplete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_round_trip_keeps_event() {
        let events = [
            Event::ObjectStart,
            Event::Key("k"),
            Event::StringDelta("d"),
            Event::Number("-1.5e3"),
            Event::Bool(true),
            Event::Null,
            Event::FieldComplete,
        ];
        for e in events {
            assert_eq!(e.to_owned_event().as_event(), e);
        }
        assert_eq!(Event::StringDelta("x").name(), "string_delta");
    }
}
