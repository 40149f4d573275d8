using Conversations.Api.Security;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Orleans.Dashboard;

namespace Conversations.Api.Hosting;

/// <summary>Settings of the Orleans dashboard, read by silos (which collect its data) and by the processes serving the API (which serve it).</summary>
public sealed class DashboardSettings
{
    public const string Section = "Conversations:Dashboard";

    /// <summary>Off by default: on, every silo profiles each grain call for the dashboard.</summary>
    public bool Enabled { get; init; }

    /// <summary>Where the dashboard is served, behind the platform admin key.</summary>
    public string Path { get; init; } = "/dashboard";

    public static DashboardSettings Read(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<DashboardSettings>() ?? new DashboardSettings();
}

/// <summary>
/// Serves Orleans' own dashboard (<c>Microsoft.Orleans.Dashboard</c>) to platform admins only: the key as a bearer token,
/// or as the password of HTTP Basic authentication so that a browser can ask for it (<see cref="BrowserKeyPrompt"/>).
/// </summary>
public static class OrleansDashboardEndpoints
{
    public static WebApplication MapOrleansDashboardForAdmins(this WebApplication app)
    {
        var settings = DashboardSettings.Read(app.Configuration);
        if (!settings.Enabled)
        {
            return app;
        }

        app.MapOrleansDashboard(settings.Path)
            .RequireAuthorization(policy => policy.RequireRole(nameof(Role.PlatformAdmin)))
            .WithMetadata(BrowserKeyPrompt.Instance)
            .ExcludeFromDescription();
        return app;
    }
}
