import { hostEndpoint } from "../../lib/endpoint";

describe("hostEndpoint", () => {
    test.each([
        [undefined, 8080, "http://localhost:8080"],
        ["0.0.0.0", 8080, "http://localhost:8080"],
        ["::", 8080, "http://localhost:8080"],
        ["127.0.0.1", 5432, "http://127.0.0.1:5432"],
        ["10.0.0.5", 80, "http://10.0.0.5:80"],
        ["::1", 8080, "http://[::1]:8080"],
        ["fd00::5", 443, "http://[fd00::5]:443"],
    ])("%s, port %d → %s", (bind, port, url) => {
        expect(hostEndpoint(bind, port)).toBe(url);
    });
});
