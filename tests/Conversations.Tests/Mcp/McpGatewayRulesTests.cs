using System.Net;
using Conversations.Grains.Mcp;
using Conversations.Mcp;
using Conversations.Tenancy;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Mcp;

/// <summary>The MCP gateway's pure rules: which addresses a tenant's URL may reach, tool allowlists, names and credential scope.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class McpGatewayRulesTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("255.255.255.255")]
    [InlineData("224.0.0.1")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fd00::1")]
    [InlineData("fe80::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    public void An_address_inside_a_network_is_not_public(string address) => Assert.False(UpstreamAddresses.IsPublic(IPAddress.Parse(address)));

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("2606:4700::1111")]
    [InlineData("::ffff:1.1.1.1")]
    public void A_public_address_is_public(string address) => Assert.True(UpstreamAddresses.IsPublic(IPAddress.Parse(address)));

    [Fact]
    public async Task A_tenants_client_does_not_connect_to_a_name_that_resolves_inside_the_network()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var http = new McpUpstreamHttp(Microsoft.Extensions.Options.Options.Create(new McpGatewayOptions()));

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => http.Tenant.GetAsync(new Uri($"http://localhost:{port}/mcp")));

        Assert.Contains("not at a public address", refused.ToString(), StringComparison.Ordinal);
        Assert.False(listener.Pending()); // no connection was even opened
    }

    [Fact]
    public void An_allowlist_allows_named_tools_and_a_servers_wildcard_and_null_allows_all_and_empty_none()
    {
        string[] list = ["knowledge_search", "github__*"];

        Assert.True(McpToolAllowlist.Allows(null, "anything"));
        Assert.False(McpToolAllowlist.Allows([], "knowledge_search"));
        Assert.True(McpToolAllowlist.Allows(list, "knowledge_search"));
        Assert.True(McpToolAllowlist.Allows(list, "github__create_issue"));
        Assert.False(McpToolAllowlist.Allows(list, "githubx__create_issue"));
        Assert.False(McpToolAllowlist.Allows(list, "conversation_search"));
    }

    [Fact]
    public void An_inner_allowlist_is_within_an_outer_one_only_when_it_allows_nothing_more()
    {
        string[] outer = ["knowledge_search", "github__*"];

        Assert.True(McpToolAllowlist.Includes(outer, ["github__create_issue", "knowledge_search"]));
        Assert.True(McpToolAllowlist.Includes(outer, ["github__*"]));
        Assert.True(McpToolAllowlist.Includes(outer, []));
        Assert.False(McpToolAllowlist.Includes(outer, null)); // all tools
        Assert.False(McpToolAllowlist.Includes(outer, ["jira__*"]));
        Assert.False(McpToolAllowlist.Includes(["github__create_issue"], ["github__*"]));
        Assert.True(McpToolAllowlist.Includes(null, null));
    }

    [Fact]
    public void Labels_cannot_hold_the_separator_and_tool_names_split_at_the_first_one()
    {
        Assert.True(McpServerRegistration.IsValidLabel("github"));
        Assert.True(McpServerRegistration.IsValidLabel("my_tools-2"));
        Assert.False(McpServerRegistration.IsValidLabel("my__tools"));
        Assert.False(McpServerRegistration.IsValidLabel("GitHub"));
        Assert.False(McpServerRegistration.IsValidLabel("2fa"));
        Assert.Equal(("github", "create__issue"), McpServerRegistration.Split("github__create__issue"));
        Assert.Null(McpServerRegistration.Split("knowledge_search"));
        Assert.Null(McpServerRegistration.Split("github__"));
    }

    [Theory]
    [InlineData("https://tools.example.com/mcp", "https://tools.example.com/mcp", true)]
    [InlineData("https://tools.example.com/mcp/v2", "https://tools.example.com/mcp", true)]
    [InlineData("https://tools.example.com/mcp", "https://tools.example.com/", true)]
    [InlineData("https://tools.example.com/mcpx", "https://tools.example.com/mcp", false)]
    [InlineData("https://tools.example.com.evil.io/mcp", "https://tools.example.com/mcp", false)]
    [InlineData("http://tools.example.com/mcp", "https://tools.example.com/mcp", false)]
    [InlineData("https://tools.example.com:8443/mcp", "https://tools.example.com/mcp", false)]
    public void A_credential_goes_only_to_urls_under_its_base(string url, string baseUrl, bool under) =>
        Assert.Equal(under, McpServerAccess.IsUnder(new Uri(url), new Uri(baseUrl)));
}
