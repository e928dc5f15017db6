"""Chinese text understanding: normalisation, segmentation, entities, masking, emergencies."""
