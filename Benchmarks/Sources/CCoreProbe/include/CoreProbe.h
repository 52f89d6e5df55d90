#ifndef CORE_PROBE_H
#define CORE_PROBE_H

/// The round trip of one cache line between the first two CPUs this process may run on: two
/// threads, pinned one per CPU, hand an atomic counter back and forth `trips` times. Returns
/// nanoseconds per round trip, the median of `repeats` such runs; -1 when fewer than two CPUs are
/// available or a thread cannot be pinned.
double core_probe_round_trip_ns(int trips, int repeats);

#endif
