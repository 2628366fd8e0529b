package io.consulconnect;

import java.util.List;

/**
 * The answer to "may this client certificate chain connect?" as the Trino authenticator
 * needs it: the allowed client's Trino user and groups, or the refusal's code and reason.
 * Built by the native core once per decision and shared by every request the decision
 * answers (it is immutable), so a cached answer costs no allocation.
 *
 * @param user the allowed client's user and groups; null when refused
 * @param code null when allowed; else the refusal's stable code (the codes of
 *     {@link ConnectRefusal#code()}, e.g. {@code denied}, {@code unknown-issuer})
 * @param reason Consul's reason for an allow; the full refusal reason otherwise, written
 *     for the operator's log (it may name intentions and the trust domain: not for clients)
 */
public record ConnectAnswer(ConnectUser user, String code, String reason) {
    /**
     * Whether the client may connect.
     *
     * @return true when allowed
     */
    public boolean allowed() {
        return user != null;
    }

    /**
     * Called by the native library (its {@code ffi/jni/protocol.rs}), which checks this
     * signature when it calls.
     */
    static ConnectAnswer fromNative(String user, String[] groups, String code, String reason) {
        return new ConnectAnswer(user == null ? null : new ConnectUser(user, List.of(groups)), code, reason);
    }
}
