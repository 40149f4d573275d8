namespace Conversations;

/// <summary>
/// <c>GetGrain</c> for string keys without Orleans 10.4's lookup on every call: <c>IGrainFactory.GetGrain</c>
/// resolves the interface's type by reflecting over its attributes and formatting its name anew each time, a cost
/// measurable on every stateless call's route and quota lookups (bench/README.md, "What changed").
/// The first reference to an interface is made by Orleans; later ones reuse its grain and interface types, so a
/// reference made here is the one <c>GetGrain</c> makes.
/// </summary>
public static class GrainReferences
{
    public static T Reference<T>(this IGrainFactory grains, string key) where T : IGrainWithStringKey
    {
        if (Types<T>.Resolved is { } types)
        {
            return (T)grains.GetGrain(GrainId.Create(types.Grain, key), types.Interface);
        }

        var first = (GrainReference)(object)grains.GetGrain<T>(key);
        Types<T>.Resolved = new ResolvedTypes(first.GrainId.Type, first.InterfaceType);
        return (T)(object)first;
    }

    private sealed record ResolvedTypes(GrainType Grain, GrainInterfaceType Interface);

    private static class Types<T>
    {
        public static ResolvedTypes? Resolved;
    }
}
