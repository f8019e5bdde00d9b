package dev.etcdlock.internal.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** JFR: a session's lease was lost (not revoked by its owner). */
@Name("dev.etcdlock.LeaseLost")
@Label("Lease Lost")
@Category("etcd-lock")
@Description("A session's lease was lost: etcd reported it gone, or it was not renewed before it could expire")
@StackTrace(false)
final class LeaseLostEvent extends Event {
    @Label("Lease Id")
    long leaseId;

    @Label("TTL")
    @Timespan(Timespan.SECONDS)
    long ttl;

    @Label("Reason")
    @Description("EXPIRED_OR_REVOKED (etcd answered a keep-alive with TTL <= 0) or UNCONFIRMED (no answer in time)")
    String reason;
}
