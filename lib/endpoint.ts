import { isIPv6 } from "net";

/**
 * `http://<address>:<port>` for a port published on the Docker host: an address bound to every
 * interface (`0.0.0.0`, `::`, or none given) is reached there as `localhost`, an IPv6 address in
 * brackets.
 */
export function hostEndpoint(bindAddress: string | undefined, port: number): string {
    if (bindAddress === undefined || bindAddress === "0.0.0.0" || bindAddress === "::") {
        return `http://localhost:${port}`;
    }
    return isIPv6(bindAddress)
        ? `http://[${bindAddress}]:${port}`
        : `http://${bindAddress}:${port}`;
}
