//! `sandbox-apis`: local stand-ins for the upstream APIs, with fault injection (in progress).
