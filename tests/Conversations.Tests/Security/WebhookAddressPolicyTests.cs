using System.Net;
using Conversations.Grains.Webhooks;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Security;

/// <summary>Where a tenant's webhooks may go: public https addresses, and more only by the platform's explicit configuration.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class WebhookAddressPolicyTests
{
    private static readonly WebhookAddressPolicy Default = new(new WebhookOptions());

    [Theory]
    [InlineData("https://hooks.example.com/openai")]
    [InlineData("https://93.184.216.34/hook")]
    [InlineData("https://[2606:2800:220:1:248:1893:25c8:1946]/hook")]
    public void Public_https_urls_are_accepted_by_default(string url) => Assert.Null(Default.Check(url));

    [Theory]
    [InlineData("http://hooks.example.com/hook")] // https only by default
    [InlineData("ftp://hooks.example.com/hook")]
    [InlineData("hooks.example.com/hook")]
    [InlineData("https://user:pass@hooks.example.com/hook")]
    [InlineData("https://localhost/hook")]
    [InlineData("https://127.0.0.1/hook")]
    [InlineData("https://10.0.0.5/hook")]
    [InlineData("https://172.16.3.4/hook")]
    [InlineData("https://192.168.1.1/hook")]
    [InlineData("https://169.254.169.254/latest/meta-data")]
    [InlineData("https://100.64.0.1/hook")]
    [InlineData("https://0.0.0.0/hook")]
    [InlineData("https://[::1]/hook")]
    [InlineData("https://[fd00::1]/hook")]
    [InlineData("https://[fe80::1]/hook")]
    [InlineData("https://[::ffff:10.0.0.1]/hook")]
    public void Urls_into_this_host_or_private_networks_are_refused_naming_the_url(string url)
    {
        var refused = Default.Check(url);

        Assert.NotNull(refused);
        Assert.Equal(400, refused.Status);
        Assert.Equal("url", refused.Param);
    }

    [Fact]
    public void An_allowed_network_opens_exactly_that_network()
    {
        var policy = new WebhookAddressPolicy(new WebhookOptions { AllowedNetworks = ["10.20.0.0/16"] });

        Assert.True(policy.Allows(IPAddress.Parse("10.20.7.1")));
        Assert.False(policy.Allows(IPAddress.Parse("10.21.0.1")));
        Assert.False(policy.Allows(IPAddress.Parse("127.0.0.1")));
        Assert.True(policy.Allows(IPAddress.Parse("8.8.8.8")));
    }

    [Fact]
    public void A_host_allowlist_admits_only_its_hosts_and_their_subdomains_when_wildcarded()
    {
        var policy = new WebhookAddressPolicy(new WebhookOptions { AllowedHosts = ["hooks.example.com", "*.partner.example"] });

        Assert.Null(policy.Check("https://hooks.example.com/a"));
        Assert.Null(policy.Check("https://eu.partner.example/a"));
        Assert.NotNull(policy.Check("https://evil.example.com/a"));
        Assert.NotNull(policy.Check("https://partner.example.evil.net/a"));
    }
}
