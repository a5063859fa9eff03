//! The bounds on untrusted DNS input, in one place: the readers enforce
//! them and the errors name them.

/// Longest message accepted, over UDP or TCP. A query is a header and one
/// question (at most 12 + 255 + 4 bytes) plus an EDNS record; 4096 is
/// EDNS's usual buffer size. Anything longer is not a query a stub
/// resolver sends, and refusing it bounds the work per packet.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Compression pointers followed for one name. Pointers must also point
/// strictly before the part of the name that holds them, so a loop is
/// impossible anyway; the bound keeps the work per name small on top.
pub const MAX_POINTER_HOPS: usize = 16;
