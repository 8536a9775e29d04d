// The loader of this folder's code kept out of the main bundle: the delivery (its queue, requests, retries and the spool's
// replay), made at the first report or when the spool holds records to send; in the build it is in the second file.
import { createDelivery } from "./delivery.js";

export const loadDelivery = () => ({ createDelivery });
