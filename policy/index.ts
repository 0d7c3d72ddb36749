/**
 * The CrossGuard pack: `pulumi preview --policy-pack policy`. Only the CLI loads this file;
 * `new PolicyPack` starts the analyzer's gRPC server, so tests and tools import `./policies` and
 * `./offline` instead.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";

new PolicyPack("msa-guardrails", { policies: POLICIES });
