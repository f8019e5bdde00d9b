package dev.etcdlock.internal.watch;

import dev.etcdlock.internal.proto.Event;
import java.util.List;

/**
 * Receives a subscription's events. Called in the client's serial context, possibly on a Netty thread: must not block.
 */
public interface WatchListener {
    /**
     * Events in revision order; across calls every event after the subscription's start revision arrives exactly
     * once, also across stream breaks and member changes.
     */
    void onEvents(List<Event> events);

    /**
     * The subscription ended and no more events will come: {@link WatchCompactedException} when the wanted history
     * was compacted, another exception when etcd cancelled the watch or the client closed.
     */
    void onError(Throwable error);
}
