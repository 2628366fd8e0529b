package io.consulconnect;

/**
 * A Consul Connect service identity, as its SPIFFE id names it:
 * {@code spiffe://<trustDomain>/ap/<partition>/ns/<namespace>/dc/<datacenter>/svc/<service>}
 * (the partition is {@code default} when the id has no {@code /ap/} part).
 *
 * <p>Built by the native core (the JNI bridge constructs it); the fields are never null.
 *
 * @param trustDomain SPIFFE trust domain, e.g. {@code 1111-2222.consul}
 * @param partition admin partition ({@code default} on Consul CE)
 * @param namespace namespace ({@code default} on Consul CE)
 * @param datacenter datacenter that issued the certificate
 * @param service service name
 */
public record ServiceIdentity(
        String trustDomain, String partition, String namespace, String datacenter, String service) {}
