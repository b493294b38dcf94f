// Compiles TaskMarket.sol with the pinned solc-js into TaskMarket.json, or checks the committed artifact is current.
//
//   node compile.js          write TaskMarket.json
//   node compile.js --check  recompile and exit 1 if TaskMarket.json differs (abi, bytecode, deployedBytecode,
//                            sourceSha256)
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const PINNED_SOLC_VERSION = "0.8.28";
const CONTRACT_NAME = "TaskMarket";
const SOURCE_NAME = `${CONTRACT_NAME}.sol`;
const SOURCE_PATH = path.join(__dirname, SOURCE_NAME);
const ARTIFACT_PATH = path.join(__dirname, `${CONTRACT_NAME}.json`);

// Every setting that changes the bytecode is pinned here and copied verbatim into the artifact.
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  outputSelection: {
    [SOURCE_NAME]: {
      [CONTRACT_NAME]: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"],
    },
  },
};

function fail(message) {
  process.stderr.write(`compile.js: ${message}\n`);
  process.exit(1);
}

function checkCompilerVersion() {
  const version = solc.version();
  if (!version.startsWith(`${PINNED_SOLC_VERSION}+`)) {
    fail(`solc must be ${PINNED_SOLC_VERSION} (got ${version}); run "npm ci" in contracts/`);
  }
  return version;
}

function compile() {
  const compiler = checkCompilerVersion();
  const sourceBytes = fs.readFileSync(SOURCE_PATH);
  const input = {
    language: "Solidity",
    sources: { [SOURCE_NAME]: { content: sourceBytes.toString("utf8") } },
    settings: SETTINGS,
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const diagnostics = output.errors || [];
  for (const diagnostic of diagnostics) {
    process.stderr.write(`${diagnostic.formattedMessage || diagnostic.message}\n`);
  }
  const errors = diagnostics.filter((diagnostic) => diagnostic.severity === "error");
  if (errors.length > 0) {
    fail(`${errors.length} compiler error(s) in ${SOURCE_NAME}`);
  }
  const contract = ((output.contracts || {})[SOURCE_NAME] || {})[CONTRACT_NAME];
  if (!contract || !contract.evm || !contract.evm.bytecode.object) {
    fail(`solc produced no bytecode for ${CONTRACT_NAME}`);
  }
  return {
    contractName: CONTRACT_NAME,
    abi: contract.abi,
    bytecode: `0x${contract.evm.bytecode.object}`,
    deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
    compiler,
    settings: SETTINGS,
    sourceSha256: crypto.createHash("sha256").update(sourceBytes).digest("hex"),
  };
}

function serialize(artifact) {
  return `${JSON.stringify(artifact, null, 2)}\n`;
}

function check(fresh) {
  if (!fs.existsSync(ARTIFACT_PATH)) {
    fail(`${path.basename(ARTIFACT_PATH)} is missing; run "node compile.js" and commit it`);
  }
  let committed;
  try {
    committed = JSON.parse(fs.readFileSync(ARTIFACT_PATH, "utf8"));
  } catch (error) {
    fail(`${path.basename(ARTIFACT_PATH)} is not valid JSON (${error.message})`);
  }
  const stale = ["abi", "bytecode", "deployedBytecode", "sourceSha256"].filter(
    (key) => JSON.stringify(committed[key]) !== JSON.stringify(fresh[key]),
  );
  if (stale.length > 0) {
    fail(
      `${path.basename(ARTIFACT_PATH)} is stale: ${stale.join(", ")} differ from a fresh compile of ` +
        `${SOURCE_NAME}; run "node compile.js" and commit the result`,
    );
  }
  process.stdout.write(`${path.basename(ARTIFACT_PATH)} is up to date (sourceSha256 ${fresh.sourceSha256})\n`);
}

function main(argv) {
  const unknown = argv.filter((arg) => arg !== "--check");
  if (unknown.length > 0) {
    fail(`unknown argument(s): ${unknown.join(" ")} (usage: node compile.js [--check])`);
  }
  const artifact = compile();
  if (argv.includes("--check")) {
    check(artifact);
    return;
  }
  fs.writeFileSync(ARTIFACT_PATH, serialize(artifact));
  process.stdout.write(
    `wrote ${path.basename(ARTIFACT_PATH)}: ${(artifact.deployedBytecode.length - 2) / 2} bytes deployed, ` +
      `sourceSha256 ${artifact.sourceSha256}\n`,
  );
}

main(process.argv.slice(2));
