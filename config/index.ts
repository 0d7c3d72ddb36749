export * from "./schema";
export * from "./validate";
export * from "./read";
export * from "./env";
export * from "./naming";
