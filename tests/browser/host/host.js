// The host side of the App's browser tests: a page that plays an MCP host, with the ext-apps
// host bridge (AppBridge) from npm. It renders the App's HTML in a sandboxed iframe (scripts
// only, an opaque origin), applies the CSP the resource declares, and passes the App's tool
// calls and resource reads to `window.mcpHost`, which the test relays to the real server.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

const THEMES = {
  light: {
    "--color-background-primary": "#ffffff", "--color-background-secondary": "#f3f4f6",
    "--color-text-primary": "#111827", "--color-text-secondary": "#4b5563",
    "--color-border-primary": "#d1d5db", "--font-sans": "\"DejaVu Sans\", sans-serif",
  },
  dark: {
    "--color-background-primary": "#16181d", "--color-background-secondary": "#22252c",
    "--color-text-primary": "#f3f4f6", "--color-text-secondary": "#9ca3af",
    "--color-border-primary": "#3a3f4b", "--font-sans": "\"DejaVu Sans\", sans-serif",
  },
};

function policy(csp) {
  const list = (domains) => (domains && domains.length ? domains.join(" ") : "");
  const connect = list(csp && csp.connectDomains) || "'none'";
  const resources = list(csp && csp.resourceDomains);
  return [
    "default-src 'none'",
    `script-src 'unsafe-inline' ${resources}`.trim(),
    `style-src 'unsafe-inline' ${resources}`.trim(),
    `img-src data: ${resources}`.trim(),
    `font-src data: ${resources}`.trim(),
    `connect-src ${connect}`,
  ].join("; ");
}

function withPolicy(html, csp) {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${policy(csp)}">`;
  return html.replace(/<head[^>]*>/i, (head) => `${head}${meta}`);
}

window.hostEvents = [];

window.openApp = async ({ html, csp, toolInput, toolResult, theme, width }) => {
  const iframe = document.createElement("iframe");
  iframe.id = "app";
  iframe.title = "Ollama model library";
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.style.cssText = `width:${width}px;height:120px;border:1px solid #8884;display:block`;
  document.getElementById("host").append(iframe);
  const bridge = new AppBridge(
    null,
    { name: "browser-test-host", version: "1.0.0" },
    { serverTools: {}, serverResources: {}, logging: {} },
    {
      hostContext: {
        theme,
        styles: { variables: THEMES[theme] },
        displayMode: "inline",
        availableDisplayModes: ["inline"],
        platform: "web",
        containerDimensions: { width, maxHeight: 4000 },
      },
    },
  );
  bridge.oncalltool = (params) => window.mcpHost("tools/call", params);
  bridge.onreadresource = (params) => window.mcpHost("resources/read", params);
  bridge.onsizechange = ({ height }) => {
    if (height) iframe.style.height = `${height}px`;
    window.hostEvents.push({ sizeChanged: height });
  };
  bridge.onloggingmessage = (params) => window.hostEvents.push({ log: params });
  const initialized = new Promise((resolve) => { bridge.oninitialized = resolve; });
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  iframe.srcdoc = withPolicy(html, csp);
  await initialized;
  await bridge.sendToolInput({ arguments: toolInput || {} });
  await bridge.sendToolResult(toolResult);
  window.appBridge = bridge;
  return true;
};

window.setTheme = (theme) =>
  window.appBridge.sendHostContextChange({ theme, styles: { variables: THEMES[theme] } });
