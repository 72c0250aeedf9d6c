//! RV's network protocol: frames, codec, typed messages, and the connection engine.
