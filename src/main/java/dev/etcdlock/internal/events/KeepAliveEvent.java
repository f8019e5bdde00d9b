package dev.etcdlock.internal.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** JFR: one answered lease keep-alive and how long its round trip took. */
@Name("dev.etcdlock.KeepAlive")
@Label("Lease Keep-Alive")
@Category("etcd-lock")
@Description("A lease keep-alive answered by etcd, with its round trip")
@StackTrace(false)
final class KeepAliveEvent extends Event {
    @Label("Lease Id")
    long leaseId;

    @Label("TTL")
    @Description("The TTL etcd renewed the lease with")
    @Timespan(Timespan.SECONDS)
    long ttl;

    @Label("Round Trip")
    @Timespan(Timespan.NANOSECONDS)
    long roundTrip;

    @Label("Lease Count")
    @Description("Leases this client keeps alive over its keep-alive stream")
    int leaseCount;
}
