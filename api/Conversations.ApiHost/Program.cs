using Conversations.Api;
using Conversations.Api.Hosting;
using Conversations.Hosting;
using Conversations.Portal;
using Orleans.Dashboard;

var builder = WebApplication.CreateBuilder(args);
builder.UseDefaultListenAddress("http://127.0.0.1:8080");
builder.AddServiceDefaults();
var cluster = builder.Configuration.GetSection(ClusterSettings.Section).Get<ClusterSettings>() ?? new ClusterSettings();
builder.UseOrleansClient(client =>
{
    cluster.ConfigureClient(client);
    client.AddActivityPropagation();
    if (DashboardSettings.Read(builder.Configuration).Enabled)
    {
        client.AddDashboard(); // served here; the silos collect its data
    }
});
builder.Services.AddClusterHealthCheck();
builder.AddConversationsApi();
builder.AddConversationsPortal();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapConversationsApi();
app.MapConversationsPortal();
app.Run();
