package dev.etcdlock.internal.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** JFR: the client's watch stream broke (or went silent) while it carried watches, which resume on a new one. */
@Name("dev.etcdlock.WatchReconnect")
@Label("Watch Stream Reconnect")
@Category("etcd-lock")
@Description("The watch stream broke or went silent while waiters listened; its watches resume on a new stream")
@StackTrace(false)
final class WatchReconnectEvent extends Event {
    @Label("Reason")
    String reason;

    @Label("Stream Lifetime")
    @Description("How long the broken stream had been open")
    @Timespan(Timespan.NANOSECONDS)
    long streamLifetime;

    @Label("Watches")
    @Description("Watches that resume on the new stream")
    int watches;

    @Label("Resume Revision")
    @Description("The lowest revision the watches resume from")
    long resumeRevision;
}
