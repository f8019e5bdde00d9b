package dev.etcdlock;

import dev.etcdlock.internal.proto.KeyValue;
import java.util.Objects;

/**
 * The leader of an {@link Election} as etcd had it: the candidate key with the lowest create revision, as in Go's
 * {@code concurrency.Election}.
 *
 * @param key          the leader's key, {@code <election name>/<lease id in hex>}
 * @param value        the leader's value as UTF-8 text: what it campaigned with, or proclaimed since
 * @param fencingToken the create revision of the leader's key: this term's token, the number the leader's
 *                     {@link Leadership#fencingToken()} returns. Every later term of the election has a larger one
 * @param leaseId      the lease of the leader's session (etcd deletes the key, ending the term, when it expires)
 * @param revision     the etcd revision that wrote this value (the campaign's, or the last proclaim's); grows with
 *                     every value of the term
 */
public record LeaderInfo(String key, String value, long fencingToken, long leaseId, long revision) {

    /**
     * A leader as etcd had it; etcd-lock makes these from what etcd answers.
     *
     * @param key          the leader's key
     * @param value        the leader's value
     * @param fencingToken the create revision of the leader's key
     * @param leaseId      the lease of the leader's session
     * @param revision     the etcd revision that wrote this value
     * @throws NullPointerException when the key or the value is null
     */
    public LeaderInfo {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
    }

    static LeaderInfo of(KeyValue kv) {
        return new LeaderInfo(kv.getKey().toStringUtf8(), kv.getValue().toStringUtf8(), kv.getCreateRevision(),
                kv.getLease(), kv.getModRevision());
    }
}
