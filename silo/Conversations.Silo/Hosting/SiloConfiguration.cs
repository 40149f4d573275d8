using System.Net;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Conversations.Api.Hosting;
using Conversations.Hosting;
using Conversations.Grains;
using Conversations.Silo.Storage;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;

namespace Conversations.Silo.Hosting;

/// <summary>Makes this process an Orleans silo: clustering, grain storage and the grains' services, from configuration.</summary>
public static class SiloConfiguration
{
    public const string MembershipSection = "Conversations:Cluster:Membership";

    public static WebApplicationBuilder AddConversationsSilo(this WebApplicationBuilder builder)
    {
        var settings = builder.Configuration.GetSection(ClusterSettings.Section).Get<ClusterSettings>() ?? new ClusterSettings();
        builder.Services.AddConversationGrainServices(builder.Configuration);
        builder.Services.AddHealthChecks()
            .AddCheck<SiloMembershipHealthCheck>("silo-membership", tags: ["ready"])
            .AddCheck<GrainStorageHealthCheck>("grain-storage", tags: ["ready"]);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(options =>
            {
                options.ServiceId = settings.ServiceId;
                options.ClusterId = settings.ClusterId;
            });
            silo.Configure<SiloMessagingOptions>(options => options.ResponseTimeout = settings.ResponseTimeout);
            silo.Configure<ClusterMembershipOptions>(builder.Configuration.GetSection(MembershipSection));
            silo.AddActivityPropagation();
#pragma warning disable ORLEANSEXP003 // experimental in Orleans 10; decision 0028
            silo.AddDistributedGrainDirectory(); // strongly consistent: no second activation of any grain while membership changes
#pragma warning restore ORLEANSEXP003
            silo.Services.AddOptions<GrainDirectoryOptions>().Configure<IOptions<ClusterMembershipOptions>>((directory, membership) =>
                directory.RangeLeaseDuration = DirectoryLease(membership.Value, settings.DeadSiloLease));
            if (DashboardSettings.Read(builder.Configuration).Enabled)
            {
                silo.AddDashboard(); // every silo collects for it; the processes serving the API serve it (OrleansDashboardEndpoints)
            }

            UseClustering(silo, settings);
            AddGrainStorage(silo, settings, builder.Environment.ContentRootPath);
        });
        return builder;
    }

    /// <summary>
    /// Orleans holds a dead silo's grains for <see cref="GrainDirectoryOptions.RangeLeaseDuration"/> counted from its estimated
    /// failure, the declaration less the failure-detection window (the longest probe timeout times the missed probes);
    /// a lease of that window plus <paramref name="afterDeclaration"/> ends that long after the declaration, whatever the
    /// membership's tuning. (Orleans' fixed 30 s default held them 22 s after the declaration with 1 s probes, none with its
    /// default probes.)
    /// </summary>
    internal static TimeSpan DirectoryLease(ClusterMembershipOptions membership, TimeSpan afterDeclaration) =>
        membership.MaxProbeTimeout * membership.NumMissedProbesLimit + afterDeclaration;

    private static void UseClustering(ISiloBuilder silo, ClusterSettings settings)
    {
        if (settings.Clustering == ClusteringMode.Localhost)
        {
            silo.UseLocalhostClustering(settings.SiloPort, settings.GatewayPort, serviceId: settings.ServiceId, clusterId: settings.ClusterId);
            silo.UseInMemoryReminderService(); // one silo: its reminders live and die with it (docs/operations.md, background responses)
            return;
        }

        var advertised = settings.AdvertisedAddress is { } address ? IPAddress.Parse(address) : IPAddress.Loopback;
        silo.ConfigureEndpoints(advertised, settings.SiloPort, settings.GatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(advertised));
        if (settings.Clustering == ClusteringMode.PostgreSql)
        {
            silo.UseAdoNetClustering(options =>
            {
                options.Invariant = ClusterSettings.PostgreSqlInvariant;
                options.ConnectionString = settings.RequirePostgreSqlConnectionString();
            });
            silo.UseAdoNetReminderService(options =>
            {
                options.Invariant = ClusterSettings.PostgreSqlInvariant;
                options.ConnectionString = settings.RequirePostgreSqlConnectionString();
            });
            return;
        }

        silo.UseAzureStorageClustering(options => options.TableServiceClient = new TableServiceClient(settings.RequireAzureConnectionString()));
        silo.UseAzureTableReminderService(options => options.TableServiceClient = new TableServiceClient(settings.RequireAzureConnectionString()));
    }

    private static void AddGrainStorage(ISiloBuilder silo, ClusterSettings settings, string contentRoot)
    {
        switch (settings.Storage)
        {
            case GrainStorageMode.Local:
                var path = Path.Combine(contentRoot, settings.LocalStoragePath);
                silo.Services.AddGrainStorage(StorageNames.Conversations, (services, _) =>
                    new SqliteGrainStorage(path, BinarySerializer(services)));
                break;
            case GrainStorageMode.AzureBlob:
                silo.AddAzureBlobGrainStorage(StorageNames.Conversations, (OptionsBuilder<AzureBlobStorageOptions> options) =>
                    options.Configure<IServiceProvider>((blob, services) =>
                    {
                        blob.BlobServiceClient = new BlobServiceClient(settings.RequireAzureConnectionString(), BoundedRetries());
                        blob.ContainerName = "conversations";
                        blob.GrainStorageSerializer = BinarySerializer(services);
                        blob.DeleteStateOnClear = true; // a cleared record (a deleted conversation, a dropped item page) leaves no empty blob naming it
                    }));
                break;
            case GrainStorageMode.PostgreSql:
                silo.AddAdoNetGrainStorage(StorageNames.Conversations, (OptionsBuilder<AdoNetGrainStorageOptions> options) =>
                    options.Configure<IServiceProvider>((sql, services) =>
                    {
                        sql.Invariant = ClusterSettings.PostgreSqlInvariant;
                        sql.ConnectionString = settings.RequirePostgreSqlConnectionString();
                        sql.GrainStorageSerializer = BinarySerializer(services);
                        sql.DeleteStateOnClear = true; // as with blobs: a cleared record leaves no row (the schema's ClearStorageKey supports it)
                    }));
                break;
            case GrainStorageMode.Memory:
                silo.AddMemoryGrainStorage(StorageNames.Conversations);
                break;
        }
    }

    /// <summary>
    /// Storage calls give up within a few seconds, so during an outage a client gets a 503 to retry
    /// rather than a request that hangs for the SDK's default minute of retries.
    /// </summary>
    private static BlobClientOptions BoundedRetries()
    {
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        return options;
    }

    /// <summary>Orleans' own version-tolerant binary format: stored state follows the records' serializer ids.</summary>
    private static OrleansGrainStorageSerializer BinarySerializer(IServiceProvider services) =>
        new(services.GetRequiredService<Serializer>());
}
